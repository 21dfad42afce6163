"""Evidence: the write-once recording store, audio checks, the audit hash chain, its
signed checkpoints and their trusted timestamps (pure checks; ``hotline.checkpointing``
makes them), and ``verify`` (re-hash every recording, walk the chain, check the
checkpoints, their timestamps and copies kept elsewhere).

``EvidenceStore`` (``files``) is the one door to sealed recordings; behind it a backend
(``backend``: the interface) keeps them: ``local`` (a directory, the embedded default)
or ``s3`` (a bucket under Object Lock, COMPLIANCE mode). ``pending`` remembers seals
in flight so an object stored without its recording is found after a crash;
``versions`` holds verify's pure decisions about locks and extra versions; ``holds``
says which objects a case preserved long-term must keep under a legal hold
(``hotline.holds`` sets them).

Art. 12 of the rule: records are evidence; once made, no unauthorised change. Nothing
in this package overwrites or deletes a sealed file or an audit event.

May import: ``hotline.store``, ``hotline.config``, ``hotline.errors``, and
``transcriber.wav`` / ``transcriber.errors`` (the one RIFF/WAVE chunk reader).
"""

from __future__ import annotations

from hotline.evidence.audio import AudioInfo, inspect_file
from hotline.evidence.audit import append_audit
from hotline.evidence.files import EvidenceStore, Staged, sha256_file

__all__ = ["AudioInfo", "EvidenceStore", "Staged", "append_audit", "inspect_file", "sha256_file"]
