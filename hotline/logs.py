"""Logging setup: plain text for people, one JSON object per line for collectors.

Call and case ids travel in ``extra`` (``call_id``, ``case_id``, ``job_id``) and appear
in both formats.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from hotline.config import Settings

_EXTRA = ("call_id", "case_id", "job_id")


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = " ".join(f"{k}={getattr(record, k)}" for k in _EXTRA if getattr(record, k, None))
        return f"{line} [{ids}]" if ids else line


class _JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in _EXTRA:
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(settings: Settings, *, quiet: bool = False) -> None:
    """``quiet``: one-shot commands log warnings only, so their output stays clean."""
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(_JSONFormatter())
    else:
        handler.setFormatter(_TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel("WARNING" if quiet and settings.log_level == "INFO" else settings.log_level)
    for noisy in ("aiohttp.access", "faster_whisper", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
