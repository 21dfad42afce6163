"""The signed copy bundle: a ZIP whose ``manifest.json`` names every file with its
SHA-256, signed by the installation's Ed25519 key (``manifest.sig``, the raw 64-byte
signature of the manifest's bytes), with the public key, ``SHA256SUMS`` and
``VERIFY.txt`` so that anyone checks it with stock tools:

    sha256sum --strict -c SHA256SUMS
    openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin \
        -in manifest.json -sigfile manifest.sig

``SHA256SUMS`` covers every other file (the manifest and signature included); the
signature covers the manifest, which names the SHA-256 of every content file and of the
sealed original each was made from. ``verify`` does all of that offline and also
checks that ``SHA256SUMS`` is exactly the one the manifest implies.

Pure: streams and bytes in and out; the key is a signing function and a public key.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, BinaryIO

from hotline.errors import EvidenceError
from hotline.evidence.keys import PublicKey

FORMAT = "hotline-copy/1"
MANIFEST, SIGNATURE, PUBLIC_KEY, SUMS, VERIFY = (
    "manifest.json",
    "manifest.sig",
    "public-key.pem",
    "SHA256SUMS",
    "VERIFY.txt",
)
FIXED = (VERIFY, PUBLIC_KEY, MANIFEST, SIGNATURE, SUMS)
COMMANDS = (
    "sha256sum --strict -c SHA256SUMS",
    "openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin "
    "-in manifest.json -sigfile manifest.sig",
)
"""What VERIFY.txt tells a recipient to run; both must succeed."""

VERIFY_TEXT = """\
Copy {copy} of case {case} — how to check it / 如何核验本复制件

Run these two commands in the folder where this ZIP was unpacked (Linux, macOS, or
Windows with Git Bash); both must succeed.
在解压后的文件夹中运行以下两条命令，两条都必须成功。

  {sums}
  {openssl}

The first checks that no file was changed; the second that manifest.json (which names
every file's SHA-256, the sealed originals they were made from, and what was redacted)
was signed by the key in public-key.pem. Then check that this key is the agency's:
compare its fingerprint with the one the agency publishes:
第一条核对每个文件未被改动；第二条核对 manifest.json 由 public-key.pem 中的密钥签名。
再将该密钥的指纹与本机关公布的指纹比对：

  openssl pkey -pubin -in public-key.pem -outform DER | sha256sum

This copy's key fingerprint / 本复制件的密钥指纹:
  {fingerprint}

With hotline installed: hotline copies verify {zip_name} --fingerprint <published>
"""


@dataclass(frozen=True, slots=True)
class Entry:
    name: str
    sha256: str
    size: int


class _Hashing:
    """A writable that hashes and counts what passes through."""

    def __init__(self, inner: IO[bytes]) -> None:
        self.inner = inner
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.inner.write(data)


@dataclass
class BundleWriter:
    """Adds files to a copy ZIP, then the manifest, signature, key and sums."""

    out: BinaryIO
    when: datetime
    """The issue time, as every entry's date (local time, as ZIP keeps it)."""
    level: int = 6
    entries: list[Entry] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._zip = zipfile.ZipFile(
            self.out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=self.level
        )

    def abandon(self) -> None:
        """Close the ZIP after a failure (the caller throws the file away)."""
        self._zip.close()

    def _info(self, name: str) -> zipfile.ZipInfo:
        if any(e.name == name for e in self.entries) or "/" in name or name in FIXED:
            raise ValueError(f"bad or repeated name in a copy: {name!r}")
        info = zipfile.ZipInfo(name, date_time=self.when.timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o444 << 16
        return info

    def add_bytes(self, name: str, data: bytes) -> Entry:
        info = self._info(name)
        self._zip.writestr(info, data, compresslevel=self.level)
        entry = Entry(name, hashlib.sha256(data).hexdigest(), len(data))
        self.entries.append(entry)
        return entry

    def add_stream(self, name: str, write: Callable[[BinaryIO], object]) -> Entry:
        """``write`` gets a writable for the file's bytes."""
        info = self._info(name)
        with self._zip.open(info, "w", force_zip64=True) as raw:
            hashing = _Hashing(raw)
            write(hashing)  # type: ignore[arg-type]
        entry = Entry(name, hashing.digest.hexdigest(), hashing.size)
        self.entries.append(entry)
        return entry

    def finish(
        self,
        manifest: dict[str, Any],
        *,
        sign: Callable[[bytes], bytes],
        public: PublicKey,
        zip_name: str,
    ) -> bytes:
        """Write VERIFY.txt, the key, the manifest (with ``files`` filled in from what
        was added, merged with ``manifest['files']`` facts by name), its signature and
        SHA256SUMS; close the ZIP. Returns the manifest's bytes."""
        verify = VERIFY_TEXT.format(
            sums=COMMANDS[0],
            openssl=COMMANDS[1],
            copy=manifest["copy"],
            case=manifest["case"]["number"],
            fingerprint=public.fingerprint,
            zip_name=zip_name,
        ).encode()
        self._fixed(VERIFY, verify)
        self._fixed(PUBLIC_KEY, public.pem())
        facts = {f["name"]: f for f in manifest.get("files", [])}
        facts[VERIFY] = {"kind": "instructions"}
        facts[PUBLIC_KEY] = {"kind": "public_key"}
        files = [
            {**facts.get(e.name, {}), "name": e.name, "sha256": e.sha256, "size": e.size}
            for e in self.entries
        ]
        body = {**manifest, "format": FORMAT, "key_fingerprint": public.fingerprint}
        body["files"] = files
        data = (json.dumps(body, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
        self._fixed(MANIFEST, data)
        self._fixed(SIGNATURE, sign(data))
        sums = sums_text(self.entries)
        self._zip.writestr(self._fixed_info(SUMS), sums, compresslevel=self.level)
        self._zip.close()
        return data

    def _fixed_info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self.when.timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o444 << 16
        return info

    def _fixed(self, name: str, data: bytes) -> None:
        self._zip.writestr(self._fixed_info(name), data, compresslevel=self.level)
        self.entries.append(Entry(name, hashlib.sha256(data).hexdigest(), len(data)))


def sums_text(entries: list[Entry]) -> bytes:
    """``sha256sum`` format: hash, two spaces, name, one line each."""
    return "".join(f"{e.sha256}  {e.name}\n" for e in entries).encode()


@dataclass(frozen=True, slots=True)
class Checked:
    problems: list[str]
    manifest: dict[str, Any] | None
    fingerprint: str | None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(source: str | BinaryIO, *, fingerprint: str | None = None) -> Checked:
    """Check a copy ZIP offline: every file against SHA256SUMS and the manifest, the
    manifest's signature against the enclosed key, and (when given) the key against the
    published fingerprint. Names each thing that is wrong."""
    problems: list[str] = []
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        return Checked([f"not a readable ZIP file: {exc}"], None, None)
    with archive:
        names = [i.filename for i in archive.infolist()]
        contents: dict[str, bytes] = {}
        for name in dict.fromkeys(names):
            if names.count(name) > 1:
                problems.append(f"{name}: appears {names.count(name)} times")
            try:
                contents[name] = archive.read(name)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
                problems.append(f"{name}: cannot be read ({exc})")
    for name in FIXED:
        if name not in contents and not any(p.startswith(f"{name}:") for p in problems):
            problems.append(f"{name}: missing")
    key: PublicKey | None = None
    found_fingerprint = None
    if PUBLIC_KEY in contents:
        try:
            key = PublicKey.from_pem(contents[PUBLIC_KEY])
            found_fingerprint = key.fingerprint
        except EvidenceError as exc:
            problems.append(f"{PUBLIC_KEY}: {exc}")
    manifest: dict[str, Any] | None = None
    raw = contents.get(MANIFEST)
    if raw is not None:
        try:
            loaded = json.loads(raw)
            manifest = loaded if isinstance(loaded, dict) else None
        except ValueError:
            manifest = None
        if manifest is None:
            problems.append(f"{MANIFEST}: not a JSON object")
    signature = contents.get(SIGNATURE)
    signed = key is None or raw is None or signature is None or key.verify(signature, raw)
    if not signed:
        problems.append(f"{SIGNATURE}: does not sign {MANIFEST} with {PUBLIC_KEY}")
    if fingerprint and found_fingerprint and fingerprint.lower() != found_fingerprint:
        problems.append(
            f"{PUBLIC_KEY}: fingerprint {found_fingerprint} is not the published {fingerprint}"
        )
    if manifest is not None:
        problems += _check_manifest(manifest, contents, found_fingerprint)
    return Checked(problems, manifest, found_fingerprint)


def _check_manifest(
    manifest: dict[str, Any], contents: dict[str, bytes], fingerprint: str | None
) -> list[str]:
    problems: list[str] = []
    if manifest.get("format") != FORMAT:
        problems.append(f"{MANIFEST}: format {manifest.get('format')!r}, expected {FORMAT}")
    if fingerprint and manifest.get("key_fingerprint") != fingerprint:
        problems.append(f"{MANIFEST}: names another key than {PUBLIC_KEY}")
    files = manifest.get("files")
    if not isinstance(files, list):
        return [*problems, f"{MANIFEST}: no file list"]
    listed: list[Entry] = []
    for item in files:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            problems.append(f"{MANIFEST}: a file entry without a name")
            continue
        name = item["name"]
        data = contents.get(name)
        if data is None:
            problems.append(f"{name}: named in the manifest, missing from the ZIP")
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest != item.get("sha256") or len(data) != item.get("size"):
            problems.append(f"{name}: SHA-256 {digest} is not the manifest's {item.get('sha256')}")
        listed.append(Entry(name, digest, len(data)))
    known = {e.name for e in listed} | {MANIFEST, SIGNATURE, SUMS}
    for name in contents:
        if name not in known:
            problems.append(f"{name}: in the ZIP but not in the manifest")
    if SUMS in contents:
        expected = [e for e in listed if e.name in contents]
        expected += [
            Entry(n, hashlib.sha256(contents[n]).hexdigest(), len(contents[n]))
            for n in (MANIFEST, SIGNATURE)
            if n in contents
        ]
        if contents[SUMS] != sums_text(expected):
            problems.append(f"{SUMS}: is not the list of this copy's files and their SHA-256")
    return problems
