#!/usr/bin/env python3
"""Check a hotline archive disc: every file against MANIFEST.json, every audit event
against its own hash, and (with OpenSSL) the manifest's signature.

    python3 verify.py /media/cdrom        (or a copy of the disc's files)

Exit status 0 when everything matches; 1 naming each file that does not; 2 when the
directory holds no hotline archive. Needs Python 3.8 or later and its standard library
only; the signature check runs ``openssl`` when it is installed (see VERIFY.txt).

This file is written onto every disc as ``verify.py``; ``hotline archive verify`` runs
the same checks on an image without mounting it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import IO, Any

FORMAT = "hotline-disc-archive/1"
MANIFEST = "MANIFEST.json"
SIGNATURE = "MANIFEST.json.sig"
PUBLIC_KEY = "public-key.pem"
UNLISTED = {MANIFEST, SIGNATURE}
_CHUNK = 1 << 20


class NotAnArchive(Exception):
    """The place checked holds no readable hotline archive manifest."""


class Directory:
    """The files of a mounted disc, or of a copy of it."""

    def __init__(self, root: str) -> None:
        self.root = root

    def files(self) -> list[str]:
        found = []
        for top, dirs, names in os.walk(self.root):
            dirs.sort()
            rel = os.path.relpath(top, self.root)
            for name in sorted(names):
                path = name if rel == "." else os.path.join(rel, name)
                found.append(path.replace(os.sep, "/"))
        return found

    def open(self, path: str) -> IO[bytes]:
        return open(os.path.join(self.root, *path.split("/")), "rb")


def sha256_of(stream: IO[bytes], keep: list[bytes] | None = None) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            return digest.hexdigest(), size
        digest.update(chunk)
        size += len(chunk)
        if keep is not None:
            keep.append(chunk)


def event_hash(event: dict[str, Any]) -> str:
    """An audit event's hash, as hotline computes it: SHA-256 of the previous hash, a
    newline, and the event's canonical JSON (sorted keys, no spaces, UTF-8)."""
    body = {key: event[key] for key in ("seq", "at", "actor", "action", "subject", "case_id")}
    body["details"] = event["details"]
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((event["prev_hash"] + "\n" + text).encode("utf-8")).hexdigest()


def audit_problems(path: str, data: bytes) -> Iterator[str]:
    """Each event in an audit file whose content no longer matches its hash."""
    for number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
            ok = event_hash(event) == event["hash"]
        except (ValueError, KeyError, TypeError):
            yield f"ALTERED  {path} line {number}: not an audit event"
            continue
        if not ok:
            yield f"ALTERED  {path} line {number}: event {event.get('seq')} does not match its hash"


def read_manifest(tree: Any) -> tuple[bytes, dict[str, Any]]:
    try:
        with tree.open(MANIFEST) as fh:
            raw = fh.read()
    except OSError:
        raise NotAnArchive(f"no {MANIFEST} here: not a hotline archive disc") from None
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except ValueError:
        raise NotAnArchive(f"{MANIFEST} is not JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise NotAnArchive(f"{MANIFEST} is not a {FORMAT} manifest")
    return raw, manifest


def check(tree: Any, say: Callable[[str], None] = print) -> list[str]:
    """Every file the manifest lists, and nothing more; the problems, each naming its
    file (an empty list: all good)."""
    _, manifest = read_manifest(tree)
    problems: list[str] = []
    listed = set()
    for entry in manifest.get("files", []):
        path = str(entry["path"])
        listed.add(path)
        keep: list[bytes] | None = [] if entry.get("kind") == "audit" else None
        try:
            with tree.open(path) as fh:
                digest, size = sha256_of(fh, keep)
        except OSError:
            problems.append(f"MISSING  {path}")
            continue
        if digest != entry["sha256"] or size != entry["size"]:
            problems.append(
                f"CHANGED  {path}: SHA-256 {digest} ({size} bytes), "
                f"the manifest says {entry['sha256']} ({entry['size']} bytes)"
            )
            continue
        if keep is not None:
            problems.extend(audit_problems(path, b"".join(keep)))
    for path in tree.files():
        if path not in listed and path not in UNLISTED:
            problems.append(f"EXTRA    {path}: not in the manifest")
    for problem in problems:
        say(problem)
    return problems


def key_fingerprint(pem: bytes) -> str:
    """SHA-256 of the DER public key (what ``openssl pkey -outform DER | sha256sum``
    prints)."""
    lines = [line for line in pem.decode("ascii").splitlines() if line and "-----" not in line]
    return hashlib.sha256(base64.b64decode("".join(lines))).hexdigest()


def openssl_signature(root: str) -> bool | None:
    """Whether OpenSSL finds the manifest's signature good; ``None`` without OpenSSL."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    run = subprocess.run(
        [openssl, "pkeyutl", "-verify", "-pubin", "-inkey", PUBLIC_KEY, "-rawin",
         "-in", MANIFEST, "-sigfile", SIGNATURE],
        cwd=root, capture_output=True, check=False,
    )  # fmt: skip
    return run.returncode == 0 and b"Verified Successfully" in run.stdout


def main(argv: list[str]) -> int:
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:  # a console that cannot show Chinese shows "?"
        reconfigure(errors="replace")
    root = argv[1] if len(argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    tree = Directory(root)
    try:
        _, manifest = read_manifest(tree)
        volume = manifest.get("volume", {})
        print(
            f"hotline archive {volume.get('label')}: volume {volume.get('number')} of "
            f"{volume.get('of')}, {len(manifest.get('cases', []))} cases, "
            f"{len(manifest.get('files', []))} files"
        )
        problems = check(tree)
    except NotAnArchive as exc:
        print(f"verify.py: {exc}", file=sys.stderr)
        return 2
    try:
        with tree.open(PUBLIC_KEY) as fh:
            fingerprint = key_fingerprint(fh.read())
    except (OSError, ValueError):
        fingerprint = "(no readable public-key.pem)"
    signature = openssl_signature(root)
    if signature is None:
        print("signature: not checked (openssl not found); see VERIFY.txt")
    elif signature:
        print("signature: good (MANIFEST.json.sig, checked with openssl)")
    else:
        problems.append("BADSIG   MANIFEST.json.sig")
        print("BADSIG   MANIFEST.json.sig does not verify: the manifest was altered")
    print(f"signing key SHA-256 {fingerprint}: compare it with the one your agency published")
    if problems:
        print(f"FAILED: {len(problems)} problems")
        return 1
    print("ok: every file matches the manifest")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
