"""The NeMo backend end to end with models built here: a randomly initialised TitaNet-architecture
speaker model, MarbleNet VAD models and an MSDD model, saved as `.nemo` archives and loaded through
the same `NemoDiarizer.from_settings` path (NeMo's `restore_from`) that loads the real NGC ones.

Random weights say nothing about who speaks, so the VAD models are built to decide on purpose: one
hears speech everywhere, one nowhere (their classifier's bias outweighs everything else). What is
checked is the wiring: archives load, the call goes through NeMo's VAD, embedding, clustering (and
MSDD) passes, our hints reach NeMo, and the RTTM comes back as turns.

Runs in .venvs/nemo (scripts/test_diarization_backends.sh nemo); skipped where NeMo is not installed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("nemo.collections.asr")

from callytics_ray.audio import load_audio  # noqa: E402
from callytics_ray.diarization import build_diarizer  # noqa: E402
from callytics_ray.errors import ModelNotFoundError  # noqa: E402
from callytics_ray.settings import AudioOptions, Settings  # noqa: E402
from tests.synth import DOUBLE_CHARGE_CALL, build_dialogue  # noqa: E402

WINDOWS_S = [1.5, 1.25, 1.0, 0.75, 0.5]  # NeMo's multiscale defaults; MSDD needs one weight per scale


def _block(filters: int, repeat: int, kernel: int, residual: bool) -> dict:
    return {"filters": filters, "repeat": repeat, "kernel": [kernel], "stride": [1], "dilation": [1],
            "dropout": 0.0, "residual": residual, "separable": True, "se": True, "se_context_size": -1}


def _titanet_config() -> dict:
    """TitaNet's layout (prolog, three residual SE blocks, epilog, attentive pooling, 192-d),
    narrower than titanet_large so the test builds and runs in seconds."""
    return {
        "sample_rate": 16_000,
        "preprocessor": {"_target_": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
                         "normalize": "per_feature", "window_size": 0.025, "sample_rate": 16_000,
                         "window_stride": 0.01, "window": "hann", "features": 80, "n_fft": 512,
                         "frame_splicing": 1, "dither": 0.00001},
        "encoder": {"_target_": "nemo.collections.asr.modules.ConvASREncoder", "feat_in": 80, "activation": "relu",
                    "conv_mask": True,
                    "jasper": [_block(256, 1, 3, False), _block(256, 3, 7, True), _block(256, 3, 11, True),
                               _block(256, 3, 15, True), _block(768, 1, 1, False)]},
        "decoder": {"_target_": "nemo.collections.asr.modules.SpeakerDecoder", "feat_in": 768, "num_classes": 100,
                    "pool_mode": "attention", "emb_sizes": 192},
        "loss": {"_target_": "nemo.collections.asr.losses.angularloss.AngularSoftmaxLoss", "scale": 30, "margin": 0.2},
    }


def _marblenet(speech: bool):
    """A MarbleNet-layout VAD whose answer is fixed by its classifier bias: speech everywhere or nowhere."""
    import torch
    from nemo.collections.asr.models import EncDecClassificationModel
    from omegaconf import OmegaConf

    config = OmegaConf.create({
        "sample_rate": 16_000, "labels": ["background", "speech"],
        "preprocessor": {"_target_": "nemo.collections.asr.modules.AudioToMFCCPreprocessor", "window_size": 0.025,
                         "window_stride": 0.01, "window": "hann", "n_mels": 64, "n_mfcc": 64, "n_fft": 512},
        "encoder": {"_target_": "nemo.collections.asr.modules.ConvASREncoder", "feat_in": 64, "activation": "relu",
                    "conv_mask": True,
                    "jasper": [_block(128, 1, 11, False), _block(64, 2, 13, True), _block(64, 2, 15, True),
                               _block(128, 1, 29, False), _block(128, 1, 1, False)]},
        "decoder": {"_target_": "nemo.collections.asr.modules.ConvASRDecoderClassification", "feat_in": 128,
                    "num_classes": 2, "return_logits": True, "pooling_type": "avg"},
    })
    model = EncDecClassificationModel(cfg=config)
    layer = model.decoder.decoder_layers[-1]
    with torch.no_grad():
        layer.weight.zero_()
        layer.bias.copy_(torch.tensor([-50.0, 50.0] if speech else [50.0, -50.0]))
    return model


def _msdd(speaker_model):
    """A randomly initialised multiscale diarization decoder that carries `speaker_model` inside,
    as NGC's diar_msdd_telephonic does."""
    import copy

    from nemo.collections.asr.models.msdd_models import EncDecDiarLabelModel
    from omegaconf import OmegaConf

    speaker_cfg = OmegaConf.to_container(copy.deepcopy(speaker_model.cfg))
    config = OmegaConf.create({
        "sample_rate": 16_000, "num_workers": 0, "batch_size": 8, "emb_batch_size": 0, "max_num_of_spks": 2,
        "scale_n": len(WINDOWS_S), "preprocessor": speaker_cfg["preprocessor"],
        "msdd_module": {"_target_": "nemo.collections.asr.modules.msdd_diarizer.MSDD_module", "num_spks": 2,
                        "hidden_size": 32, "num_lstm_layers": 1, "dropout_rate": 0.0, "cnn_output_ch": 4,
                        "conv_repeat": 1, "emb_dim": 192, "scale_n": len(WINDOWS_S),
                        "weighting_scheme": "conv_scale_weight", "context_vector_type": "cos_sim"},
        "loss": {"_target_": "nemo.collections.asr.losses.bce_loss.BCELoss", "weight": None},
        "diarizer": {"out_dir": None, "manifest_filepath": None,
                     "speaker_embeddings": {"model_path": None, "parameters": {
                         "window_length_in_sec": WINDOWS_S, "shift_length_in_sec": [w / 2 for w in WINDOWS_S],
                         "multiscale_weights": [1] * len(WINDOWS_S), "save_embeddings": True}}},
        "speaker_model_cfg": speaker_cfg,
        "test_ds": {"manifest_filepath": None, "emb_dir": None, "sample_rate": 16_000, "num_spks": 2,
                    "soft_label_thres": 0.5, "labels": None, "batch_size": 8, "emb_batch_size": 0,
                    "shuffle": False, "seq_eval_mode": False},
    })
    model = EncDecDiarLabelModel(cfg=config)
    model.msdd._speaker_model.load_state_dict(speaker_model.state_dict())
    return model


@pytest.fixture(scope="module")
def nemo_models(tmp_path_factory) -> dict[str, Path]:
    import torch
    from nemo.collections.asr.models import EncDecSpeakerLabelModel
    from omegaconf import OmegaConf

    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("nemo")
    paths = {name: root / f"{name}.nemo" for name in ("titanet", "vad_speech", "vad_silence", "msdd")}
    speaker = EncDecSpeakerLabelModel(cfg=OmegaConf.create(_titanet_config()))
    speaker.save_to(str(paths["titanet"]))
    _marblenet(speech=True).save_to(str(paths["vad_speech"]))
    _marblenet(speech=False).save_to(str(paths["vad_silence"]))
    _msdd(speaker).save_to(str(paths["msdd"]))
    return paths


@pytest.fixture(scope="module")
def dialogue(tmp_path_factory):
    path = tmp_path_factory.mktemp("call") / "call.wav"
    build_dialogue(DOUBLE_CHARGE_CALL, path)
    return load_audio(path, AudioOptions(channel_layout="mono"))


def _settings(tmp_path: Path, **diarization: str) -> Settings:
    return Settings(cache_dir=tmp_path, _env_file=None, diarization={"backend": "nemo", **diarization})


def _check_turns(turns, duration_s: float) -> None:
    assert turns, "the diarizer returned no turns for a call its VAD hears as all speech"
    assert all(0.0 <= t.start < t.end <= duration_s + 0.01 for t in turns)
    # The VAD hears speech everywhere, so the turns cover (nearly) the whole call.
    covered = sum(t.end - t.start for t in turns)
    assert covered >= 0.9 * duration_s


def test_clustering_diarizer_loads_nemo_archives_and_takes_the_speaker_hints(nemo_models, dialogue, tmp_path):
    diarizer = build_diarizer(_settings(
        tmp_path, nemo_vad_model=str(nemo_models["vad_speech"]), nemo_speaker_model=str(nemo_models["titanet"])
    ))
    assert diarizer.name == "nemo"
    exact = diarizer.diarize(dialogue, min_speakers=2, max_speakers=2)
    _check_turns(exact, dialogue.duration_s)
    # min == max runs NeMo with the oracle speaker count: exactly two labels, whatever the weights.
    assert len({t.speaker for t in exact}) == 2
    capped = diarizer.diarize(dialogue, max_speakers=3)
    _check_turns(capped, dialogue.duration_s)
    assert 1 <= len({t.speaker for t in capped}) <= 3


def test_a_vad_that_hears_nothing_gives_no_turns_not_a_failure(nemo_models, dialogue, tmp_path):
    diarizer = build_diarizer(_settings(
        tmp_path, nemo_vad_model=str(nemo_models["vad_silence"]), nemo_speaker_model=str(nemo_models["titanet"])
    ))
    assert diarizer.diarize(dialogue, max_speakers=2) == []


def test_msdd_neural_diarizer_runs_from_its_nemo_archive(nemo_models, dialogue, tmp_path):
    diarizer = build_diarizer(_settings(
        tmp_path, nemo_vad_model=str(nemo_models["vad_speech"]), nemo_speaker_model=str(nemo_models["titanet"]),
        nemo_msdd_model=str(nemo_models["msdd"]),
    ))
    turns = diarizer.diarize(dialogue, min_speakers=2, max_speakers=2)
    _check_turns(turns, dialogue.duration_s)
    assert 1 <= len({t.speaker for t in turns}) <= 2


def test_a_missing_nemo_archive_is_a_clear_error(nemo_models, tmp_path):
    with pytest.raises(ModelNotFoundError, match="titanet_missing.nemo"):
        build_diarizer(_settings(
            tmp_path, nemo_vad_model=str(nemo_models["vad_speech"]),
            nemo_speaker_model=str(tmp_path / "titanet_missing.nemo"),
        ))
