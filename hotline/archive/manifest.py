"""What a disc says about itself, pure: ``MANIFEST.json`` (every file's SHA-256, the
cases, the volume's number of N, the chain head and checkpoint it was made at), its
Ed25519 signature, the public key, ``VERIFY.txt`` and the verifier script.

The signature covers the exact bytes of ``MANIFEST.json``; the manifest names every
other file with its SHA-256, the verifier and its notes included, so one signature
check and the hashes vouch for the whole disc.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

from hotline.archive.layout import DiscFile, Kind
from hotline.evidence.keys import InstallationKey, PublicKey

FORMAT = "hotline-disc-archive/1"
MANIFEST = "MANIFEST.json"
SIGNATURE = "MANIFEST.json.sig"
PUBLIC_KEY = "public-key.pem"
NOTES = "VERIFY.txt"
VERIFIER = "verify.py"
UNLISTED = frozenset({MANIFEST, SIGNATURE})
"""The only files a manifest does not list (itself, and its signature)."""


def memory_file(path: str, data: bytes, kind: Kind) -> DiscFile:
    return DiscFile(path, len(data), hashlib.sha256(data).hexdigest(), kind, data=data)


def json_bytes(data: Any) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode()


def verifier_source() -> bytes:
    """``verify.py``: the stand-alone checker (Python's standard library only)."""
    return resources.files("hotline.archive").joinpath("disc_verify.py").read_bytes()


@dataclass(frozen=True, slots=True)
class VolumeFacts:
    archive_id: str
    label: str
    """This volume's label (``HLA0007V01``), also its ISO volume identifier."""
    archive_label: str
    number: int
    of: int
    media: str
    capacity: int
    created_at: datetime
    created_by: str
    selection: dict[str, Any]
    chain_head: dict[str, Any]
    checkpoint: dict[str, Any] | None


def tools(key: PublicKey, facts: VolumeFacts) -> list[DiscFile]:
    """The files every volume carries besides the cases."""
    return [
        memory_file(PUBLIC_KEY, key.pem(), "tool"),
        memory_file(NOTES, notes(key, facts).encode(), "tool"),
        memory_file(VERIFIER, verifier_source(), "tool"),
    ]


def manifest(facts: VolumeFacts, key: PublicKey, cases: list[str], files: list[DiscFile]) -> bytes:
    body = {
        "format": FORMAT,
        "archive": {
            "id": facts.archive_id,
            "label": facts.archive_label,
            "created_at": facts.created_at.isoformat(),
            "created_by": facts.created_by,
            "selection": facts.selection,
        },
        "volume": {
            "label": facts.label,
            "number": facts.number,
            "of": facts.of,
            "media": facts.media,
            "capacity": facts.capacity,
        },
        "installation": {"key": key.fingerprint, "algorithm": "Ed25519"},
        "chain": {"head": facts.chain_head, "checkpoint": facts.checkpoint},
        "cases": cases,
        "files": [
            {"path": f.path, "size": f.size, "sha256": f.sha256, "kind": f.kind}
            for f in sorted(files, key=lambda f: f.path)
        ],
    }
    return json_bytes(body)


def signed(data: bytes, key: InstallationKey) -> DiscFile:
    return memory_file(SIGNATURE, key.sign(data), "tool")


def notes(key: PublicKey, facts: VolumeFacts) -> str:
    """``VERIFY.txt``: how to check the disc, in Chinese and English."""
    return f"""热线录音归档光盘 {facts.label}（第 {facts.number} 张，共 {facts.of} 张）
Hotline archive disc {facts.label} (volume {facts.number} of {facts.of})

归档 Archive: {facts.archive_label} ({facts.archive_id})
制作时间 Made: {facts.created_at.isoformat()}  by {facts.created_by}
签名公钥指纹 Signing key fingerprint (SHA-256):
    {key.fingerprint}

一、核对每个文件 Check every file
    python3 verify.py /media/cdrom
  逐一计算 MANIFEST.json 所列文件的 SHA-256，并核对每条审计记录的哈希；
  全部一致时退出码为 0，否则列出不一致的文件，退出码为 1。
  verify.py 只使用 Python 标准库。
  It re-hashes every file MANIFEST.json lists and recomputes each audit event's hash;
  exit status 0 when all match, 1 naming each file that does not. It needs nothing but
  Python's standard library.

二、核对签名 Check the signature (OpenSSL 3)
    openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin \\
        -in MANIFEST.json -sigfile MANIFEST.json.sig
  应显示 "Signature Verified Successfully"。It must print that line.

三、核对公钥 Check the key is the agency's
    openssl pkey -pubin -in public-key.pem -outform DER | sha256sum
  结果须与本单位公布的指纹（纸质存档或主办案系统中）一致：
    {key.fingerprint}
  The result must equal the fingerprint the agency published (on paper, in the main
  case system), not only the one printed above.

文件 Files
  MANIFEST.json         清单：每个文件的 SHA-256、案件编号、卷号、审计链头和检查点
                        every file's SHA-256, the cases, the volume, the audit chain
                        head and the signed checkpoint it was made at
  MANIFEST.json.sig     清单的 Ed25519 签名 its Ed25519 signature (64 bytes)
  <案件编号>/案件.json      案件 the case
  <案件编号>/审计记录.jsonl  审计记录 its audit events
  <案件编号>/录音/          原始录音，与封存文件逐字节相同 the sealed recordings, byte for byte
  <案件编号>/转写/          转写文本的每一个版本 every version of every transcript
"""
