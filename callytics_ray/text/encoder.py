"""The sentence encoder (all-MiniLM-L6-v2 by default), loaded once per process and shared by every
user in it: the sentiment head, the offline analyzer's summary and keyphrases, and call drivers.

Users take a `TextEncoder`: this process's encoder, or (on Serve) one that asks the replica holding
the model, so that the app loads the model once (deployments/encoder.py).

Two runtimes give the same embeddings: on a CPU the encoder runs under onnxruntime from an export
kept in the model cache (`onnx_export`: no torch in the process, a third of the memory, loaded in a
fraction of a second), on a GPU under sentence-transformers (torch, CUDA).
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from callytics_ray.settings import EncoderRuntime, Settings

logger = logging.getLogger(__name__)

# Tokens per onnxruntime batch at most (batch size x padded length): long texts go in smaller
# batches, so a batch of 256-token texts does not hold 32 of them in attention at once.
_TOKENS_PER_BATCH = 4096


class TextEncoder(Protocol):
    """What users of sentence embeddings need: L2-normalised rows, one per text."""

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray: ...


class SentenceEncoder:
    """A SentenceTransformer (torch) behind one lock: `encode` is not safe across threads, and users in
    one process share the model (one copy in memory, one load).

    Example:
        >>> encoder = load_sentence_encoder(resolve_model("bundled:all-MiniLM-L6-v2", ...), "cpu")
        >>> encoder.encode(["I was charged twice"]).shape
        (1, 384)
    """

    def __init__(self, path: Path, device: str = "cpu") -> None:
        from sentence_transformers import SentenceTransformer

        self.path = path
        self.device = device
        self._model = SentenceTransformer(str(path), device=device)
        self._lock = threading.Lock()
        logger.info("loaded sentence encoder %s on %s", path.name, device)

    @property
    def dimension(self) -> int:
        return int(self._model.get_embedding_dimension())

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """L2-normalised embeddings, one row per text.  # shape: (len(texts), dimension)"""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            emb = self._model.encode(
                texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(emb, dtype=np.float32).reshape(len(texts), -1)


class OnnxSentenceEncoder:
    """The exported encoder (`onnx_export`) under onnxruntime, with the model's own fast tokenizer.

    Texts are sorted by length and batched so that padding stays small; the session's thread pool
    is the stage's (`cpu.stage_threads`). onnxruntime's session is safe to run from several threads.

    Example:
        >>> encoder = OnnxSentenceEncoder(ensure_export(minilm_dir, cache_dir))
        >>> encoder.encode(["I was charged twice"]).shape
        (1, 384)
    """

    def __init__(self, path: Path, *, threads: int) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        from callytics_ray.text.onnx_export import META, MODEL, TOKENIZER

        self.path = path
        meta = json.loads((path / META).read_text())
        self.dimension = int(meta["dimension"])
        self._inputs: list[str] = list(meta["inputs"])
        self._tokenizer = Tokenizer.from_file(str(path / TOKENIZER))
        self._tokenizer.enable_truncation(int(meta["max_seq_length"]))
        self._tokenizer.no_padding()
        self._pad_id = int(meta["pad_id"])
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # No arena: it keeps the largest batch's buffers for the life of the process, where freed
        # memory goes back to the heap (and the replica's heap trim hands it to the OS).
        options.enable_cpu_mem_arena = False
        self._session = onnxruntime.InferenceSession(str(path / MODEL), options, providers=["CPUExecutionProvider"])
        logger.info("loaded sentence encoder %s under onnxruntime (%d threads)", path.name, threads)

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """L2-normalised embeddings, one row per text.  # shape: (len(texts), dimension)"""
        texts = list(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids), reverse=True)
        start = 0
        while start < len(order):
            longest = max(1, len(encodings[order[start]].ids))
            size = max(1, min(batch_size, _TOKENS_PER_BATCH // longest))
            batch = order[start:start + size]
            out[batch] = self._run([encodings[i] for i in batch], longest)
            start += size
        return out

    def _run(self, encodings: list, length: int) -> np.ndarray:
        ids = np.full((len(encodings), length), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), length), dtype=np.int64)
        types = np.zeros((len(encodings), length), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            n = len(encoding.ids)
            ids[row, :n] = encoding.ids
            mask[row, :n] = 1
            types[row, :n] = encoding.type_ids
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        return self._session.run(None, {name: feeds[name] for name in self._inputs})[0]


def encoder_runtime(runtime: EncoderRuntime, device: str) -> tuple[str, str]:
    """(runtime, device) an encoder runs on: "auto" is onnxruntime on a CPU and sentence-transformers
    on a GPU; an "auto" device is a GPU when the driver reports one (asked without loading torch)."""
    from callytics_ray.devices import cuda_available

    if device == "auto" and (runtime == "onnxruntime" or not cuda_available()):
        device = "cpu"
    if runtime == "auto":
        runtime = "onnxruntime" if device == "cpu" else "sentence-transformers"
    if runtime == "onnxruntime" and device != "cpu":
        raise ValueError(f"the onnxruntime encoder runs on the CPU only, not {device!r}")
    return runtime, device  # a remaining "auto" device is torch's to settle (devices.torch_device)


@functools.lru_cache(maxsize=4)
def load_sentence_encoder(path: Path, device: str = "cpu", *, runtime: EncoderRuntime = "auto",
                          cache_dir: Path | None = None, threads: int = 0) -> TextEncoder:
    """The process's encoder for a resolved model directory, device and runtime (loaded on first
    use). The onnxruntime runtime keeps its export in `cache_dir` (required for it).

    Raises:
        ModelNotFoundError: the ONNX export failed (an explicit onnxruntime runtime), or the model
            is missing.
    """
    from callytics_ray.cpu import stage_threads
    from callytics_ray.errors import ModelNotFoundError
    from callytics_ray.text.onnx_export import ensure_export

    chosen, device = encoder_runtime(runtime, device)
    if chosen == "onnxruntime":
        if cache_dir is None:
            raise ValueError("the onnxruntime encoder needs a cache_dir for its export")
        try:
            return OnnxSentenceEncoder(ensure_export(Path(path), Path(cache_dir)), threads=stage_threads(threads))
        except ModelNotFoundError as err:
            if runtime != "auto":
                raise
            # A model the exporter cannot handle still works, at the cost of loading torch.
            logger.warning("%s; running it under sentence-transformers instead", err)
    from callytics_ray.devices import torch_device

    return SentenceEncoder(Path(path), torch_device(device))


def shared_encoder(settings: Settings) -> TextEncoder:
    """This process's copy of the encoder that the offline analyzer, call drivers and (when they
    name the same model) the sentiment head share: `settings.llm.offline_encoder`.

    Raises:
        ModelNotFoundError: the encoder is not available.
    """
    from callytics_ray.model_store import resolve_model

    ref, device = settings.llm.offline_encoder(settings.sentiment)
    path = resolve_model(ref, kind="sentence-embedding", cache_dir=settings.cache_dir, offline=settings.offline)
    return load_sentence_encoder(path, device, runtime=settings.sentiment.encoder_runtime,
                                 cache_dir=settings.cache_dir)
