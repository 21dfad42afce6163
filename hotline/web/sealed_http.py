"""Sealed recordings over HTTP: single byte ranges (RFC 9110 §14), streamed from the
evidence store whatever backend keeps them, so players can seek in a recording kept
on S3 as in one on the local disk.

``byte_range`` is pure (header and size in, the range or a refusal out); ``send_sealed``
is the thin aiohttp part.
"""

from __future__ import annotations

import re

from aiohttp import web

from hotline.errors import EvidenceError
from hotline.evidence.files import EvidenceStore, ObjectRef

_RANGE = re.compile(r"\s*bytes\s*=\s*([0-9]*)\s*-\s*([0-9]*)\s*")
_FAR = 10**18
"""Stands for a position with more digits than any file has bytes (``int`` refuses
strings of thousands of digits)."""


def _position(digits: str) -> int:
    return int(digits) if len(digits) <= 18 else _FAR


class UnsatisfiableRange(ValueError):
    """The range starts past the end (answer 416)."""


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The ``(start, end)`` (end exclusive) a ``Range`` header asks of ``size`` bytes;
    ``None`` to send everything (no header, several ranges, or one we do not read)."""
    if not header:
        return None
    match = _RANGE.fullmatch(header)
    if match is None:
        return None  # several ranges or another unit: the whole body is a valid answer
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        suffix = _position(last)
        if suffix == 0:
            raise UnsatisfiableRange(header)
        return max(size - suffix, 0), size
    start = _position(first)
    if start >= size:
        raise UnsatisfiableRange(header)
    end = size if not last else min(_position(last) + 1, size)
    if end <= start:
        return None  # last < first: syntactically invalid, ignored (RFC 9110 §14.1.1)
    return start, end


async def send_sealed(
    request: web.Request,
    store: EvidenceStore,
    ref: ObjectRef,
    *,
    size: int,
    sha256: str,
    headers: dict[str, str],
) -> web.StreamResponse:
    """Stream a sealed object (all of it, or the one range asked for)."""
    etag = f'"{sha256}"'
    header = request.headers.get("Range", "")
    if_range = request.headers.get("If-Range")
    if if_range is not None and if_range.strip() != etag:
        header = ""  # the client's copy is of other bytes: send them all
    base = {**headers, "Accept-Ranges": "bytes", "ETag": etag}
    try:
        wanted = byte_range(header, size)
    except UnsatisfiableRange:
        return web.Response(status=416, headers={**base, "Content-Range": f"bytes */{size}"})
    start, end = wanted if wanted is not None else (0, size)
    chunks = store.stream(ref, start, end)
    try:
        first = await anext(chunks, b"")
    except EvidenceError:
        await chunks.aclose()
        raise web.HTTPNotFound(
            text='{"error": "the sealed recording cannot be read; run `hotline verify`"}',
            content_type="application/json",
        ) from None
    response = web.StreamResponse(status=206 if wanted is not None else 200, headers=base)
    response.content_length = end - start
    if wanted is not None:
        response.headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    try:
        await response.prepare(request)
        if first:
            await response.write(first)
        async for data in chunks:
            await response.write(data)
        await response.write_eof()
    finally:
        await chunks.aclose()
    return response
