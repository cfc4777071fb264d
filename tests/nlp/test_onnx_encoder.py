"""The sentence encoder on a CPU: exported to ONNX once, run under onnxruntime without torch, and
giving the embeddings sentence-transformers gives."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from callytics_ray.errors import ModelNotFoundError
from callytics_ray.model_store import resolve_model
from callytics_ray.text.encoder import OnnxSentenceEncoder, SentenceEncoder, encoder_runtime, load_sentence_encoder
from callytics_ray.text.onnx_export import META, ensure_export

pytestmark = pytest.mark.models

# What a call's utterances look like, and the edges: an empty text, Korean, a text past the
# model's 256-token window (truncated the same way by both runtimes).
TEXTS = [
    "Thank you for calling, my name is Dana, how can I help you today?",
    "I was charged twice for the same order and nobody called me back.",
    "Okay.",
    "",
    "안녕하세요, 요금이 두 번 청구되었어요.",
    "The router keeps dropping the connection every evening. " * 40,
]


@pytest.fixture(scope="module")
def minilm(session_settings) -> Path:
    return resolve_model(session_settings.sentiment.embedding_model, kind="sentence-embedding",
                         cache_dir=session_settings.cache_dir, offline=True)


def test_the_onnx_encoder_gives_the_sentence_transformers_embeddings(minilm, session_settings):
    onnx = load_sentence_encoder(minilm, "cpu", runtime="onnxruntime", cache_dir=session_settings.cache_dir)
    torch = load_sentence_encoder(minilm, "cpu", runtime="sentence-transformers")
    assert isinstance(onnx, OnnxSentenceEncoder) and isinstance(torch, SentenceEncoder)

    ours, theirs = onnx.encode(TEXTS), torch.encode(TEXTS)
    assert ours.shape == theirs.shape == (len(TEXTS), 384) and ours.dtype == np.float32
    assert np.abs(ours - theirs).max() < 1e-5
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    # Batching by length does not change a text's embedding (each row is its own text's).
    assert np.abs(onnx.encode(TEXTS[::-1], batch_size=2)[::-1] - ours).max() < 1e-5
    assert onnx.encode([]).shape == (0, 384)


def test_the_encoder_on_a_cpu_is_onnx_and_its_process_loads_no_torch(minilm, session_settings):
    assert encoder_runtime("auto", "cpu") == ("onnxruntime", "cpu")
    assert encoder_runtime("auto", "cuda") == ("sentence-transformers", "cuda")
    assert encoder_runtime("onnxruntime", "auto") == ("onnxruntime", "cpu")
    with pytest.raises(ValueError, match="CPU only"):
        encoder_runtime("onnxruntime", "cuda")
    ensure_export(minilm, session_settings.cache_dir)  # made here, not timed in the child
    script = (
        "import sys; from pathlib import Path\n"
        "from callytics_ray.text.encoder import load_sentence_encoder\n"
        f"e = load_sentence_encoder(Path({str(minilm)!r}), 'auto', cache_dir=Path({str(session_settings.cache_dir)!r}))\n"
        "print(type(e).__name__, e.encode(['hello there']).shape, 'torch' in sys.modules)\n"
    )
    # A process with no GPU visible, as Ray starts a replica that reserved none.
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "CUDA_VISIBLE_DEVICES": ""})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["OnnxSentenceEncoder", "(1,", "384)", "False"], done.stdout


def test_the_export_is_made_once_per_model_and_reused(minilm, session_settings):
    first = ensure_export(minilm, session_settings.cache_dir)
    made = (first / META).stat().st_mtime_ns
    again = ensure_export(minilm, session_settings.cache_dir)
    assert again == first and (again / META).stat().st_mtime_ns == made
    assert not [p for p in first.parent.iterdir() if p.name.startswith(".") and p.is_dir()]  # no staging left


def test_a_model_the_exporter_cannot_handle_is_a_clear_error_or_falls_back(tmp_path, minilm, monkeypatch, caplog):
    broken = tmp_path / "not-a-model"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    with pytest.raises(ModelNotFoundError, match="not-a-model' is not available: its ONNX export failed: "):
        ensure_export(broken, tmp_path / "cache")
    with pytest.raises(ModelNotFoundError, match="ONNX export failed"):
        load_sentence_encoder(broken, "cpu", runtime="onnxruntime", cache_dir=tmp_path / "cache")
    # Under "auto" an encoder whose export fails (here: this model's, made to fail) still runs,
    # under sentence-transformers, and the log says why.
    from callytics_ray.text import onnx_export

    def failing(source: Path, cache_dir: Path) -> Path:
        raise ModelNotFoundError(str(source), "sentence-embedding", "its ONNX export failed: no fast tokenizer")

    monkeypatch.setattr(onnx_export, "ensure_export", failing)
    with caplog.at_level(logging.WARNING, logger="callytics_ray.text.encoder"):
        encoder = load_sentence_encoder(minilm, "cpu", runtime="auto", cache_dir=tmp_path / "cache-2")
    assert isinstance(encoder, SentenceEncoder)
    assert "no fast tokenizer; running it under sentence-transformers instead" in caplog.text
