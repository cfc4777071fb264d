"""The pyannote backend end to end with models built here: a randomly initialised segmentation
model and embedding model saved as checkpoints, a pipeline config.yaml pointing at them, loaded
through the same `PyannoteDiarizer.from_settings` path that loads the real 3.1 pipeline.

Runs in .venvs/pyannote (scripts/test_diarization_backends.sh); skipped where pyannote.audio is
not installed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyannote.audio")

from callytics_ray.diarization import build_diarizer  # noqa: E402
from callytics_ray.errors import ModelNotFoundError  # noqa: E402
from callytics_ray.settings import Settings  # noqa: E402
from callytics_ray.types import AudioInfo, ProcessedAudio  # noqa: E402


def _save_checkpoint(model, path: Path) -> None:
    """Save `model` as a Lightning checkpoint of the kind pyannote's hub models are."""
    import lightning
    import torch
    from pyannote.audio.core.model import Model

    assert isinstance(model, Model)
    checkpoint = {
        "state_dict": model.state_dict(),
        "pytorch-lightning_version": lightning.__version__,
        "hyper_parameters": dict(model.hparams),
    }
    model.on_save_checkpoint(checkpoint)
    torch.save(checkpoint, path)


@pytest.fixture(scope="module")
def pipeline_dir(tmp_path_factory) -> Path:
    import torch
    from pyannote.audio.models.embedding import WeSpeakerResNet34
    from pyannote.audio.models.segmentation import PyanNet
    from pyannote.audio.core.task import Problem, Resolution, Specifications

    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("pipeline")
    segmentation = PyanNet(sincnet={"stride": 10})
    segmentation.specifications = Specifications(
        problem=Problem.MONO_LABEL_CLASSIFICATION, resolution=Resolution.FRAME, duration=10.0,
        classes=["speaker#1", "speaker#2", "speaker#3"], powerset_max_classes=2, permutation_invariant=True,
    )
    segmentation.build()
    _save_checkpoint(segmentation, root / "segmentation.bin")
    embedding = WeSpeakerResNet34()
    # An embedding model's checkpoint records what it represents, as trained ones do.
    embedding.specifications = Specifications(
        problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=5.0
    )
    _save_checkpoint(embedding, root / "embedding.bin")
    # pyannote.audio 4 pipelines always load a PLDA (VBx clustering); a well-formed random one.
    rng = np.random.default_rng(0)
    (root / "plda").mkdir()
    np.savez(root / "plda" / "xvec_transform.npz", mean1=np.zeros(256), mean2=np.zeros(128),
             lda=rng.standard_normal((256, 128)))
    np.savez(root / "plda" / "plda.npz", mu=np.zeros(128), tr=np.eye(128) + 0.01 * rng.standard_normal((128, 128)),
             psi=np.linspace(2.0, 0.5, 128))
    (root / "config.yaml").write_text(
        "pipeline:\n"
        "  name: pyannote.audio.pipelines.SpeakerDiarization\n"
        "  params:\n"
        f"    segmentation: {root / 'segmentation.bin'}\n"
        f"    embedding: {root / 'embedding.bin'}\n"
        f"    plda: {root / 'plda'}\n"
        "    clustering: AgglomerativeClustering\n"
        "    embedding_exclude_overlap: true\n"
        "params:\n"
        "  segmentation:\n    min_duration_off: 0.0\n"
        "  clustering:\n    method: centroid\n    min_cluster_size: 2\n    threshold: 0.7\n"
    )
    return root


def test_local_pipeline_loads_and_diarizes_through_the_real_code_path(pipeline_dir, tmp_path):
    settings = Settings(
        cache_dir=tmp_path, _env_file=None, diarization={"backend": "pyannote", "pyannote_pipeline": str(pipeline_dir)}
    )
    diarizer = build_diarizer(settings)
    assert diarizer.name == "pyannote"
    rng = np.random.default_rng(0)
    samples = (0.1 * rng.standard_normal(16_000 * 12)).astype(np.float32)
    audio = ProcessedAudio(AudioInfo(12.0, 16_000, 1, "pcm_f32le", "wav", "mono", 10.0, 0.9), (samples,))
    turns = diarizer.diarize(audio, min_speakers=1, max_speakers=2)
    # Random weights say nothing about who speaks; the wiring must still give valid turns.
    assert isinstance(turns, list)
    assert all(0.0 <= t.start <= t.end <= 12.01 for t in turns)
    assert len({t.speaker for t in turns}) <= 2


def test_missing_local_pipeline_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    settings = Settings(
        cache_dir=tmp_path, _env_file=None, diarization={"backend": "pyannote", "pyannote_pipeline": str(tmp_path / "empty")}
    )
    with pytest.raises(ModelNotFoundError):
        build_diarizer(settings)
