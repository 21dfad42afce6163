"""ISO 9660 images with Joliet and Rock Ridge names, written and read with ``pycdlib``
(blocking: callers run these on a thread).

A sealed recording is read through the evidence store while the image is written and
hashed on the way (``streams``): bytes that no longer match their seal stop the image,
which is then removed (it was never an archive). An image is written under a temporary
name, synced, checked, and only then given its name.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, Any, BinaryIO

import pycdlib
from pycdlib.pycdlibexception import PyCdlibException

from hotline.archive.layout import SECTOR, DiscFile, IsoNames, directories_of
from hotline.archive.streams import Hasher, ImageDigest
from hotline.errors import EvidenceError, InputError
from hotline.evidence.backend import ObjectRef, Readable
from hotline.evidence.hashing import sha256_file

OpenSealed = Callable[[ObjectRef], AbstractContextManager[Readable]]
"""Opens a sealed object (``EvidenceStore.reader``)."""

_BLOCK = 1 << 20
_FILE_MODE = 0o100444
_DIR_MODE = 0o40555


class SealedSource(io.RawIOBase):
    """A sealed recording as ``pycdlib`` reads it while writing: opened through the
    evidence store at the first read (so thousands of files hold no descriptor until
    their turn), closed at its end, and hashed on ``hasher``'s thread; ``check`` (once
    the hasher is drained) raises if the bytes were not the sealed ones."""

    def __init__(self, file: DiscFile, open_sealed: OpenSealed, hasher: Hasher) -> None:
        super().__init__()
        assert file.sealed is not None
        self.file = file
        self._open = open_sealed
        self._hasher = hasher
        self._context: AbstractContextManager[Readable] | None = None
        self._stream: Readable | None = None
        self._digest = hashlib.sha256()
        self._read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        # pycdlib seeks to the start of the data before copying it.
        if whence != os.SEEK_SET or offset != 0:
            raise io.UnsupportedOperation("a sealed recording is read from its start")
        self._finish()
        self._hasher.drain()
        self._digest = hashlib.sha256()
        self._read = 0
        return 0

    def tell(self) -> int:
        return self._read

    def read(self, size: int = -1) -> bytes:
        if self._stream is None:
            if self._read:
                return b""
            assert self.file.sealed is not None
            self._context = self._open(self.file.sealed)
            self._stream = self._context.__enter__()
        left = self.file.size - self._read
        data = self._stream.read(left if size < 0 else min(size, left)) if left > 0 else b""
        self._hasher.update(self._digest, data)
        self._read += len(data)
        if self._read >= self.file.size or not data:
            self._finish()
        return data

    def check(self) -> None:
        digest = self._digest.hexdigest()
        if self._read != self.file.size or digest != self.file.sha256:
            raise EvidenceError(
                f"sealed recording {self.file.sealed} reads back as {digest} "
                f"({self._read} bytes), sealed as {self.file.sha256} ({self.file.size} "
                "bytes): no archive made; run `hotline verify`"
            )

    def _finish(self) -> None:
        if self._context is not None:
            context, self._context, self._stream = self._context, None, None
            context.__exit__(None, None, None)

    def close(self) -> None:
        self._finish()
        super().close()


def write_image(
    target: Path,
    *,
    label: str,
    archive_label: str,
    number: int,
    of: int,
    files: Sequence[DiscFile],
    capacity: int,
    open_sealed: OpenSealed,
) -> tuple[str, int]:
    """Write the image; return its SHA-256 and size. ``InputError`` if ``target``
    exists; ``EvidenceError`` if a sealed file does not read back as sealed or the
    image would not fit ``capacity``."""
    iso = pycdlib.PyCdlib()
    iso.new(
        interchange_level=3,
        sys_ident="HOTLINE",
        vol_ident=label,
        set_size=of,
        seqnum=number,
        vol_set_ident=archive_label,
        pub_ident_str="hotline",
        app_ident_str="hotline disc archive",
        joliet=3,
        rock_ridge="1.09",
    )
    names = IsoNames()
    sources: list[BinaryIO] = []
    sealed: list[SealedSource] = []
    recordings, image = Hasher(), Hasher()
    try:
        for directory in sorted(directories_of(f.path for f in files)):
            iso.add_directory(
                names.directory(directory),
                rr_name=directory.rpartition("/")[2],
                joliet_path=f"/{directory}",
                file_mode=_DIR_MODE,
            )
        for file in sorted(files, key=lambda f: f.path):
            if file.data is not None:
                source: BinaryIO = io.BytesIO(file.data)
            else:
                reader = SealedSource(file, open_sealed, recordings)
                sealed.append(reader)
                source = reader  # type: ignore[assignment]
            sources.append(source)
            iso.add_fp(
                source,
                file.size,
                names.file(file.path),
                rr_name=file.path.rpartition("/")[2],
                joliet_path=f"/{file.path}",
                file_mode=_FILE_MODE,
            )
        size = iso.pvd.space_size * SECTOR
        if size > capacity:
            raise EvidenceError(
                f"volume {label} would take {size} bytes, more than the media's {capacity}"
            )

        def checked() -> None:
            recordings.drain()
            for reader in sealed:
                reader.check()

        digest = _write(iso, target, image, checked)
    finally:
        recordings.close()
        image.close()
        iso.close()
        for source in sources:
            source.close()
    return digest, target.stat().st_size


def _data_start(iso: pycdlib.PyCdlib) -> Callable[[], int | None]:
    """Where the first file's data begins, once pycdlib has laid the image out."""

    def find() -> int | None:
        try:
            extents = [i.extent_location() for i in iso.inodes if i.get_data_length()]
        except (AttributeError, PyCdlibException):
            return None
        return min(extents) * SECTOR if extents else None

    return find


def _write(iso: pycdlib.PyCdlib, target: Path, hasher: Hasher, checked: Callable[[], None]) -> str:
    part = target.with_name(f".{target.name}.part")
    try:
        fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            with part.open("x+b") as out:
                digest = ImageDigest(out, _data_start(iso), hasher)
                iso.write_fp(digest, blocksize=_BLOCK)  # type: ignore[arg-type]
                out.flush()
                os.fsync(out.fileno())
                checked()
                sha256 = digest.hexdigest(out.seek(0, os.SEEK_END))
            if sha256 is None:
                sha256, _ = sha256_file(part)
            try:
                # Like the evidence store: link never replaces a name that exists.
                os.link(part, target)
            except FileExistsError:
                raise InputError(f"{target} exists already: choose another --out") from None
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise EvidenceError(f"cannot write {target}: {exc}") from exc
    finally:
        part.unlink(missing_ok=True)
    return sha256


class Image:
    """An image opened for reading, as ``disc_verify.check`` walks a tree: its files by
    their Rock Ridge names (Joliet where an image has none)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._iso = pycdlib.PyCdlib()
        try:
            self._iso.open(str(path))
        except (PyCdlibException, OSError, ValueError) as exc:
            raise InputError(f"{path} is not a readable ISO 9660 image: {exc}") from None
        if self._iso.has_rock_ridge():
            self._key = "rr_path"
        elif self._iso.has_joliet():
            self._key = "joliet_path"
        else:
            self._key = "iso_path"

    def __enter__(self) -> Image:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(PyCdlibException):
            self._iso.close()

    @property
    def volume_label(self) -> str:
        return bytes(self._iso.pvd.volume_identifier).decode("ascii", "replace").strip()

    def files(self) -> list[str]:
        found = []
        walk: Any = self._iso.walk(**{self._key: "/"})
        for top, _dirs, names in walk:
            for name in names:
                path = f"{top.rstrip('/')}/{name}".lstrip("/")
                found.append(path.removesuffix(";1") if self._key == "iso_path" else path)
        return sorted(found)

    def open(self, path: str) -> IO[bytes]:
        name = f"/{path};1" if self._key == "iso_path" else f"/{path}"
        try:
            opened: Any = self._iso.open_file_from_iso(**{self._key: name})
        except PyCdlibException:
            raise FileNotFoundError(path) from None
        return opened  # type: ignore[no-any-return]
