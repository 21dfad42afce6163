"""``python -m transcriber FILE``: a recording's transcript on standard output.

Exit status 0 on success, 2 when the input or the model cannot be used (one line on
standard error says why, without a traceback).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from transcriber.errors import TranscriptionError
from transcriber.formats import to_json, to_srt, to_text, to_vtt
from transcriber.models import BACKENDS, BUNDLED_BASE
from transcriber.options import Options


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m transcriber",
        description="Transcribe a telephone recording offline (Whisper). Stereo files and "
        "--caller/--operator legs are transcribed per speaker.",
    )
    p.add_argument(
        "file", nargs="?", help="the recording (WAV from the PBX, or any audio FFmpeg reads)"
    )
    p.add_argument("--caller", metavar="FILE", help="the caller's leg (MixMonitor r() file)")
    p.add_argument("--operator", metavar="FILE", help="the operator's leg (MixMonitor t() file)")
    p.add_argument(
        "--language", default="auto", help="zh, en, another Whisper code, or auto (default)"
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument(
        "--json", dest="fmt", action="store_const", const="json", help="JSON with segments"
    )
    out.add_argument(
        "--srt", dest="fmt", action="store_const", const="srt", help="SubRip subtitles"
    )
    out.add_argument(
        "--vtt", dest="fmt", action="store_const", const="vtt", help="WebVTT subtitles"
    )
    p.add_argument(
        "--model",
        default=BUNDLED_BASE,
        help="bundled-base (default), bundled-tiny.en, a name or a path",
    )
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        help="default: faster-whisper (openai-whisper for a .pt file)",
    )
    p.add_argument("--compute-type", default="int8", help="int8 (default), float32, …")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (default: every core)")
    defaults = Options()
    p.add_argument(
        "--beam-size",
        type=int,
        default=None,
        help=f"default {defaults.beam_size}, Mandarin {defaults.beam_size_zh}",
    )
    p.add_argument(
        "--batch-size", type=int, default=defaults.batch_size, help="1 decodes sequentially"
    )
    p.add_argument(
        "--no-vad", action="store_true", help="decode silence too (slower, more invented words)"
    )
    p.add_argument(
        "--hotword", action="append", default=[], help="a name or term to prefer (repeatable)"
    )
    p.add_argument(
        "--speakers", help="channel names of a multi-channel file, comma-separated; '' mixes them"
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log what the guards removed")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s"
    )
    if bool(args.file) == bool(args.caller or args.operator):
        print("error: give one FILE, or --caller and/or --operator legs", file=sys.stderr)
        return 2
    import transcriber

    beams = {} if args.beam_size is None else {"beam_size": args.beam_size, "beam_size_zh": None}
    options = Options(
        **beams,
        batch_size=args.batch_size,
        vad=not args.no_vad,
        hotwords=tuple(args.hotword),
    )
    speakers = None if args.speakers is None else tuple(s for s in args.speakers.split(",") if s)
    try:
        model = transcriber.load(
            args.model,
            compute_type=args.compute_type,
            cpu_threads=args.threads,
            backend=args.backend,
            options=options,
        )
        if args.file:
            result = model.transcribe(args.file, language=args.language, speakers=speakers)
        else:
            legs = {k: v for k, v in (("caller", args.caller), ("operator", args.operator)) if v}
            result = model.transcribe(legs, language=args.language)
    except TranscriptionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    render = {"json": to_json, "srt": to_srt, "vtt": to_vtt}.get(args.fmt, to_text)
    sys.stdout.write(render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
