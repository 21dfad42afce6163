"""An openai-whisper checkpoint rebuilt from a CTranslate2 Whisper export, offline.

CTranslate2's converter only renames and fuses tensors, so the mapping runs back:
self-attention's fused query/key/value projection is split in three (Whisper's key
projection has no bias; CTranslate2 stores zeros there), cross-attention's fused
key/value in two, layer norms' ``gamma``/``beta`` become ``weight``/``bias``.

The bundled base is stored as float16, the precision OpenAI published its
checkpoints in; it is widened to float32 here because PyTorch on CPU computes in
float32. Widening is exact, so both backends run the same weights.

``model.bin`` layout (CTranslate2 binary version 6): u32 version, string spec name,
u32 revision, u32 variable count, then per variable: string name, u8 rank, u32 dims,
u8 dtype, u32 byte count, bytes; then u32 alias count and (alias, target) strings.
Strings are u16 length (with the NUL) + UTF-8 + NUL.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from transcriber.errors import ModelNotFound

_DTYPES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")
CONVERTER_REVISION = 1
"""Bumped when the mapping changes, so cached checkpoints are rebuilt."""


def _string(f: BinaryIO) -> str:
    (length,) = struct.unpack("<H", f.read(2))
    return f.read(length)[:-1].decode("utf-8")


def read_ct2(path: Path) -> dict[str, np.ndarray]:
    """Every variable of a CTranslate2 ``model.bin`` by name (aliases resolved)."""
    variables: dict[str, np.ndarray] = {}
    with path.open("rb") as f:
        (version,) = struct.unpack("<I", f.read(4))
        if version < 5:
            raise ModelNotFound(
                f"{path}: CTranslate2 binary version {version} is too old to convert"
            )
        spec = _string(f)
        if spec != "WhisperSpec":
            raise ModelNotFound(f"{path}: a {spec} model, not Whisper")
        f.read(4)  # spec revision
        (count,) = struct.unpack("<I", f.read(4))
        for _ in range(count):
            name = _string(f)
            (rank,) = struct.unpack("<B", f.read(1))
            shape = struct.unpack(f"<{rank}I", f.read(4 * rank))
            (dtype_id,) = struct.unpack("<B", f.read(1))
            (size,) = struct.unpack("<I", f.read(4))
            dtype = _DTYPES[dtype_id]
            if dtype == "bfloat16":
                raise ModelNotFound(f"{path}: bfloat16 weights are not supported by the converter")
            if dtype == "int8" and rank >= 2:
                raise ModelNotFound(
                    f"{path}: a quantised (int8) export cannot be converted back; use a float one"
                )
            variables[name] = np.frombuffer(
                f.read(size), dtype=np.dtype(dtype).newbyteorder("<")
            ).reshape(shape)
        (aliases,) = struct.unpack("<I", f.read(4))
        for _ in range(aliases):
            alias, target = _string(f), _string(f)
            variables[alias] = variables[target]
    return variables


def _scalar(variables: dict[str, np.ndarray], name: str) -> int:
    return int(variables[name].reshape(-1)[0])


def dimensions(variables: dict[str, np.ndarray]) -> dict[str, int]:
    """openai-whisper's ``ModelDimensions`` fields, read off the tensors' shapes."""
    enc_layers = sum(
        1
        for k in variables
        if k.startswith("encoder/layer_") and k.endswith("/ffn/linear_0/weight")
    )
    dec_layers = sum(
        1
        for k in variables
        if k.startswith("decoder/layer_") and k.endswith("/ffn/linear_0/weight")
    )
    vocab, text_state = variables["decoder/embeddings/weight"].shape
    audio_ctx, audio_state = variables["encoder/position_encodings/encodings"].shape
    return {
        "n_mels": int(variables["encoder/conv1/weight"].shape[1]),
        "n_audio_ctx": int(audio_ctx),
        "n_audio_state": int(audio_state),
        "n_audio_head": _scalar(variables, "encoder/num_heads"),
        "n_audio_layer": enc_layers,
        "n_vocab": int(vocab),
        "n_text_ctx": int(variables["decoder/position_encodings/encodings"].shape[0]),
        "n_text_state": int(text_state),
        "n_text_head": _scalar(variables, "decoder/num_heads"),
        "n_text_layer": dec_layers,
    }


def _attention(
    out: dict[str, np.ndarray], v: dict[str, np.ndarray], src: str, dst: str, *, cross: bool
) -> None:
    def weight(i: int) -> np.ndarray:
        return v[f"{src}/linear_{i}/weight"]

    def bias(i: int) -> np.ndarray:
        return v[f"{src}/linear_{i}/bias"]

    if cross:
        out[f"{dst}.query.weight"], out[f"{dst}.query.bias"] = weight(0), bias(0)
        key_w, value_w = np.split(weight(1), 2)
        _key_b, value_b = np.split(bias(1), 2)
        out_index = 2
    else:
        _q, key_w, value_w = np.split(weight(0), 3)
        query_b, _key_b, value_b = np.split(bias(0), 3)
        out[f"{dst}.query.weight"], out[f"{dst}.query.bias"] = _q, query_b
        out_index = 1
    out[f"{dst}.key.weight"] = key_w
    out[f"{dst}.value.weight"], out[f"{dst}.value.bias"] = value_w, value_b
    out[f"{dst}.out.weight"], out[f"{dst}.out.bias"] = weight(out_index), bias(out_index)


def _norm(out: dict[str, np.ndarray], v: dict[str, np.ndarray], src: str, dst: str) -> None:
    out[f"{dst}.weight"], out[f"{dst}.bias"] = v[f"{src}/gamma"], v[f"{src}/beta"]


def openai_state_dict(variables: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """openai-whisper ``state_dict`` names → arrays (still in the export's precision)."""
    dims = dimensions(variables)
    out: dict[str, np.ndarray] = {}
    for conv in ("conv1", "conv2"):
        out[f"encoder.{conv}.weight"] = variables[f"encoder/{conv}/weight"]
        out[f"encoder.{conv}.bias"] = variables[f"encoder/{conv}/bias"]
    out["encoder.positional_embedding"] = variables["encoder/position_encodings/encodings"]
    _norm(out, variables, "encoder/layer_norm", "encoder.ln_post")
    out["decoder.token_embedding.weight"] = variables["decoder/embeddings/weight"]
    out["decoder.positional_embedding"] = variables["decoder/position_encodings/encodings"]
    _norm(out, variables, "decoder/layer_norm", "decoder.ln")
    for side, layers in (("encoder", dims["n_audio_layer"]), ("decoder", dims["n_text_layer"])):
        for i in range(layers):
            src, dst = f"{side}/layer_{i}", f"{side}.blocks.{i}"
            _attention(out, variables, f"{src}/self_attention", f"{dst}.attn", cross=False)
            _norm(out, variables, f"{src}/self_attention/layer_norm", f"{dst}.attn_ln")
            if side == "decoder":
                _attention(out, variables, f"{src}/attention", f"{dst}.cross_attn", cross=True)
                _norm(out, variables, f"{src}/attention/layer_norm", f"{dst}.cross_attn_ln")
            for ct2, torch_index in (("linear_0", 0), ("linear_1", 2)):
                out[f"{dst}.mlp.{torch_index}.weight"] = variables[f"{src}/ffn/{ct2}/weight"]
                out[f"{dst}.mlp.{torch_index}.bias"] = variables[f"{src}/ffn/{ct2}/bias"]
            _norm(out, variables, f"{src}/ffn/layer_norm", f"{dst}.mlp_ln")
    return out


def build_openai_checkpoint(ct2_dir: Path, target: Path) -> Path:
    """Write ``target`` (a ``.pt`` openai-whisper loads) from the export in ``ct2_dir``.

    The checkpoint carries ``dims`` and ``model_state_dict`` like OpenAI's, plus the
    export's alignment heads (``alignment_heads``: ``[[layer, head], …]``) for word timing.
    """
    import torch

    variables = read_ct2(ct2_dir / "model.bin")
    state = {
        k: torch.from_numpy(np.array(a, dtype=np.float32))
        for k, a in openai_state_dict(variables).items()
    }
    heads: list[list[int]] = []
    config = ct2_dir / "config.json"
    if config.is_file():
        heads = [
            list(map(int, h))
            for h in json.loads(config.read_text("utf-8")).get("alignment_heads") or []
        ]
    checkpoint: dict[str, Any] = {
        "dims": dimensions(variables),
        "model_state_dict": state,
        "alignment_heads": heads,
        "converted_from": str(ct2_dir),
        "converter_revision": CONVERTER_REVISION,
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(checkpoint, f)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target
