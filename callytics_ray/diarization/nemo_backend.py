"""NeMo backend: ClusteringDiarizer (VAD + TitaNet + clustering) or NeuralDiarizer (MSDD).

Runs in its own environment (runtime_envs/diarization-nemo.txt). NeMo diarizers work on files
listed in a manifest, so each call is written to a temporary 16 kHz WAV and its RTTM read back.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from callytics_ray.devices import torch_device
from callytics_ray.diarization.base import DiarizationRequest, OneCallAtATime
from callytics_ray.errors import ConfigError, ModelNotFoundError
from callytics_ray.settings import DiarizationOptions, DiarizationSettings, Settings
from callytics_ray.types import SpeakerTurn

logger = logging.getLogger(__name__)


def build_nemo_config(
    config: DiarizationSettings, out_dir: Path, manifest: Path, max_speakers: int, *, oracle_count: bool = False
) -> dict[str, Any]:
    """The diarizer config NeMo's `ClusteringDiarizer` / `NeuralDiarizer` read, as a plain dict.

    `oracle_count` makes NeMo take the speaker count from the manifest's `num_speakers`.

    Model entries are `.nemo` paths or NGC names (which NeMo downloads unless they are cached).
    """
    base: dict[str, Any] = {}
    if config.nemo_config:
        import yaml

        base = yaml.safe_load(Path(config.nemo_config).read_text()) or {}
    diarizer = base.setdefault("diarizer", {})
    diarizer.update({"manifest_filepath": str(manifest), "out_dir": str(out_dir), "oracle_vad": False})
    diarizer.setdefault("collar", 0.25)
    diarizer.setdefault("ignore_overlap", False)
    vad = diarizer.setdefault("vad", {})
    vad["model_path"] = config.nemo_vad_model
    vad.setdefault("parameters", {"window_length_in_sec": 0.63, "shift_length_in_sec": 0.08, "smoothing": False,
                                  "overlap": 0.5, "onset": 0.8, "offset": 0.6, "pad_onset": 0.0, "pad_offset": 0.0,
                                  "min_duration_on": 0.0, "min_duration_off": 0.6, "filter_speech_first": True})
    speaker = diarizer.setdefault("speaker_embeddings", {})
    speaker["model_path"] = config.nemo_speaker_model
    speaker.setdefault("parameters", {"window_length_in_sec": [1.5, 1.25, 1.0, 0.75, 0.5],
                                      "shift_length_in_sec": [0.75, 0.625, 0.5, 0.375, 0.25],
                                      "multiscale_weights": [1, 1, 1, 1, 1], "save_embeddings": False})
    clustering = diarizer.setdefault("clustering", {}).setdefault("parameters", {})
    clustering.update({"oracle_num_speakers": oracle_count, "max_num_speakers": max_speakers})
    for key, value in {"enhanced_count_thres": 80, "max_rp_threshold": 0.25, "sparse_search_volume": 30,
                       "maj_vote_spk_count": False}.items():
        clustering.setdefault(key, value)
    if config.nemo_msdd_model:
        msdd = diarizer.setdefault("msdd_model", {})
        msdd["model_path"] = config.nemo_msdd_model
        # MSDD reads the clustering pass's embeddings back from disk.
        speaker["parameters"]["save_embeddings"] = True
        msdd.setdefault("parameters", {"use_speaker_model_from_ckpt": True, "infer_batch_size": 25,
                                       "sigmoid_threshold": [0.7], "seq_eval_mode": False, "split_infer": True,
                                       "diar_window_length": 50, "overlap_infer_spk_limit": 5})
    base.setdefault("device", None)
    base.setdefault("verbose", False)
    base.setdefault("batch_size", 64)
    base.setdefault("num_workers", 0)
    base.setdefault("sample_rate", 16_000)
    return base


def read_rttm(path: Path, file_id: str | None = None) -> list[SpeakerTurn]:
    """Turns from an RTTM file (`SPEAKER file 1 start duration <NA> <NA> label ...`); with
    `file_id`, only that recording's lines (one RTTM may describe several files)."""
    turns = []
    for line in path.read_text(encoding="utf-8").splitlines():  # labels may be UTF-8 (AMI's MÉO069)
        parts = line.split()
        if len(parts) >= 8 and parts[0] == "SPEAKER" and file_id in (None, parts[1]):
            start, duration = float(parts[3]), float(parts[4])
            turns.append(SpeakerTurn(round(start, 3), round(start + duration, 3), parts[7]))
    return sorted(turns, key=lambda t: (t.start, t.end, t.speaker))


def checked_model_ref(ref: str, kind: str) -> str:
    """A `.nemo` (or `.ckpt`) path must be a file; any other reference is an NGC model name that
    NeMo resolves itself (from its cache, or by download where the network allows)."""
    if ref.endswith((".nemo", ".ckpt")) or "/" in ref:
        path = Path(ref).expanduser()
        if not path.is_file():
            raise ModelNotFoundError(ref, kind, f"{path} is not a file (a .nemo archive or an NGC model name)")
        return str(path)
    return ref


def load_speaker_model(ref: str, device: str) -> Any:
    """TitaNet (or any EncDecSpeakerLabelModel) from a `.nemo`/`.ckpt` path or an NGC name, the way
    NeMo's own ClusteringDiarizer loads it; loaded once per replica, not once per call."""
    from nemo.collections.asr.models import EncDecSpeakerLabelModel

    try:
        if ref.endswith(".nemo"):
            return EncDecSpeakerLabelModel.restore_from(ref, map_location=device)
        if ref.endswith(".ckpt"):
            return EncDecSpeakerLabelModel.load_from_checkpoint(ref, map_location=device)
        return EncDecSpeakerLabelModel.from_pretrained(model_name=ref, map_location=device)
    except (OSError, RuntimeError, ValueError, KeyError) as err:
        raise ModelNotFoundError(ref, "speaker-embedding", f"NeMo could not load it: {err}") from err


class NemoDiarizer(OneCallAtATime):
    """Diarization by NeMo with TitaNet embeddings (and MSDD when `nemo_msdd_model` is set).

    The speaker model is loaded once; the VAD model (small) is restored by NeMo's diarizer for
    each call, as its constructor does. A call whose min and max speaker hints agree runs with
    NeMo's oracle speaker count.

    Example:
        >>> settings = Settings(diarization={"backend": "nemo", "nemo_speaker_model": "/m/titanet_large.nemo"})
        >>> NemoDiarizer.from_settings(settings).diarize(audio, max_speakers=2)
    """

    name = "nemo"

    def __init__(self, config: DiarizationSettings, device: str, speaker_model: Any = None) -> None:
        self._config = config
        self._device = device
        self._speaker_model = speaker_model
        self.options = config.options

    @classmethod
    def from_settings(cls, settings: Settings) -> NemoDiarizer:
        try:
            import nemo.collections.asr  # noqa: F401  (fails early when NeMo is missing)
        except ImportError as err:
            raise ConfigError(
                "the nemo diarization backend needs nemo_toolkit[asr]: install runtime_envs/diarization-nemo.txt"
            ) from err
        config = settings.diarization
        updates = {
            "nemo_vad_model": checked_model_ref(config.nemo_vad_model, "voice-activity"),
            "nemo_speaker_model": checked_model_ref(config.nemo_speaker_model, "speaker-embedding"),
        }
        if config.nemo_msdd_model:
            updates["nemo_msdd_model"] = checked_model_ref(config.nemo_msdd_model, "speaker-diarization")
        config = config.model_copy(update=updates)
        device = torch_device(config.device)
        # MSDD checkpoints carry their own speaker model (use_speaker_model_from_ckpt).
        speaker_model = None if config.nemo_msdd_model else load_speaker_model(config.nemo_speaker_model, device)
        return cls(config, device, speaker_model)

    def with_options(self, options: DiarizationOptions) -> NemoDiarizer:
        return NemoDiarizer(self._config.model_copy(update={"options": options}), self._device, self._speaker_model)

    def _diarize_one(self, item: DiarizationRequest) -> list[SpeakerTurn]:
        import soundfile as sf
        from nemo.collections.asr.models import ClusteringDiarizer, NeuralDiarizer
        from omegaconf import OmegaConf

        low, high = self._bounds(item)
        exact = high if high is not None and low == high else None
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            wav = work / "call.wav"
            sf.write(wav, np.asarray(item.audio.mono, dtype=np.float32), item.audio.sample_rate_hz)
            manifest = work / "manifest.json"
            entry = {"audio_filepath": str(wav), "offset": 0, "duration": None, "label": "infer", "text": "-",
                     "num_speakers": exact, "rttm_filepath": None, "uem_filepath": None}
            manifest.write_text(json.dumps(entry) + "\n")
            cfg = OmegaConf.create(
                build_nemo_config(self._config, work / "out", manifest, high or 8, oracle_count=exact is not None)
            )
            cfg.device = self._device
            if self._config.nemo_msdd_model:
                diarizer = NeuralDiarizer(cfg=cfg)
            else:
                diarizer = ClusteringDiarizer(cfg=cfg, speaker_model=self._speaker_model)
            try:
                diarizer.diarize()
            except ValueError as err:
                # NeMo aborts when its VAD hears no speech at all; for us that is a call with no turns.
                if "contains silence" in str(err):
                    logger.warning("nemo VAD heard no speech in %.1f s of audio", item.audio.duration_s)
                    return []
                raise
            return read_rttm(work / "out" / "pred_rttms" / "call.rttm")
