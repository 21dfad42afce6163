#!/usr/bin/env bash
# Installs the optional openai-whisper backend into .venv, CPU only, and only if missing.
#
# `pip install openai-whisper` alone drags in triton (~286 MB, GPU only) and, through
# an unpinned torch, a CUDA build of torch. So: CPU torch first (pip.conf's find-links
# supplies the +cpu wheel where one exists), then openai-whisper without its
# dependencies, then the small ones it really uses on CPU.
set -euo pipefail
cd "$(dirname "$0")/.."

PIP=${PIP:-.venv/bin/pip}
PY=${PY:-.venv/bin/python}
TORCH_VERSION=2.13.0
WHISPER_VERSION=20250625

# pip.conf's extra file:// indexes lack most names and warn for each; openai-whisper's
# triton requirement is skipped on purpose. Hide exactly that noise, keep the rest.
pip_install() {
  "$PIP" install --quiet "$@" 2>&1 | {
    grep -v -e 'is ignored: it is neither a file nor a directory' \
      -e "dependency resolver does not currently take into account" \
      -e 'requires triton' || true
  }
}

installed() {
  "$PY" - "$TORCH_VERSION" "$WHISPER_VERSION" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
torch, whisper = sys.argv[1:3]
ok = version("torch").split("+")[0] == torch and version("openai-whisper") == whisper
for name in ("more-itertools", "numba", "tiktoken", "tqdm"):
    version(name)
import torch as _t, whisper as _w  # noqa: F401  (the imports must work, not just the metadata)
sys.exit(0 if ok else 1)
PY
}

if installed; then
  exit 0
fi

echo "install-openai-whisper: installing torch ${TORCH_VERSION} (CPU) and openai-whisper ${WHISPER_VERSION}"
# A local +cpu wheel wins over the CUDA build of the same version; without one, ask for
# the CPU build explicitly so pip never resolves the nvidia-* / triton wheels.
if "$PIP" download --quiet --no-deps --no-index --dest "$(mktemp -d)" "torch==${TORCH_VERSION}+cpu" >/dev/null 2>&1; then
  pip_install "torch==${TORCH_VERSION}+cpu"
else
  pip_install "torch==${TORCH_VERSION}"
fi
pip_install --no-deps "openai-whisper==${WHISPER_VERSION}"
pip_install more-itertools numba tiktoken tqdm
installed || { echo "install-openai-whisper: installed, but 'import whisper' still fails" >&2; exit 1; }
