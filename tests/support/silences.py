"""Where the speech is in a recording, as sox's ``silence`` effect finds it.

A second opinion on timings, independent of the speech model: from each point, sox
trims the leading silence (where the next sound starts) and then stops at the first
silence of ``min_silence`` seconds (where that stretch of speech ends).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path


def _length(args: list[str]) -> float:
    sox = shutil.which("sox")
    if sox is None:
        raise RuntimeError("sox is not installed: run `make test`, which installs it")
    done = subprocess.run([sox, *args, "stat"], capture_output=True, text=True, check=True)
    found = re.search(r"Length \(seconds\):\s+([0-9.]+)", done.stderr)
    if found is None:
        raise RuntimeError(f"sox stat printed no length: {done.stderr}")
    return float(found.group(1))


def speech_spans(
    path: Path, *, min_silence: float = 1.0, threshold: str = "1%"
) -> list[tuple[float, float]]:
    """``(start, end)`` seconds of each stretch of sound between silences of at least
    ``min_silence`` seconds (below ``threshold`` of full scale)."""
    total = _length([str(path), "-n"])
    spans: list[tuple[float, float]] = []
    at = 0.0
    while at < total - 0.05:
        rest = _length([str(path), "-n", "trim", f"{at:.3f}", "silence", "1", "0.02", threshold])
        if rest < 0.02:
            break
        start = total - rest
        heard = _length(
            [
                str(path),
                "-n",
                "trim",
                f"{start:.3f}",
                "silence",
                "1",
                "0.02",
                threshold,
                "1",
                f"{min_silence}",
                threshold,
            ]
        )
        spans.append((round(start, 3), round(start + heard, 3)))
        at = start + heard + 0.01
    return spans
