"""The offline default diarizer on real recordings and espeak-ng dialogues (real models)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from callytics_ray.audio import load_audio
from callytics_ray.diarization import DiarizationRequest, build_diarizer
from callytics_ray.errors import ConfigError, EmptyAudioError
from callytics_ray.failures import StageFailure
from callytics_ray.roles import attribute_speakers
from callytics_ray.settings import AudioOptions, RoleOptions
from callytics_ray.types import AudioInfo, ProcessedAudio
from tests.synth import DOUBLE_CHARGE_CALL, build_dialogue

pytestmark = pytest.mark.models

_REFERENCE_SPEAKERS = {"dev00": 2, "dev01": 2}


@pytest.fixture(scope="module")
def diarizer(session_settings):
    return build_diarizer(session_settings)


def _load(path: Path) -> ProcessedAudio:
    return load_audio(path, AudioOptions(min_speech_ratio=0.0, channel_layout="mono"))


@pytest.mark.parametrize("name", sorted(_REFERENCE_SPEAKERS))
def test_speaker_count_matches_the_reference_on_real_meetings(diarizer, data_dir, name):
    turns = diarizer.diarize(_load(data_dir / f"{name}.wav"))
    assert len({t.speaker for t in turns}) == _REFERENCE_SPEAKERS[name]
    assert all(0.0 <= t.start < t.end <= 30.01 for t in turns)


def test_min_and_max_speaker_hints_are_honoured(diarizer, data_dir):
    audio = _load(data_dir / "dev00.wav")
    assert len({t.speaker for t in diarizer.diarize(audio, max_speakers=1)}) == 1
    assert len({t.speaker for t in diarizer.diarize(audio, min_speakers=3)}) >= 3
    with pytest.raises(ConfigError):
        diarizer.diarize(audio, min_speakers=3, max_speakers=2)


def test_empty_audio_is_a_typed_error_and_fails_only_its_own_batch_item(diarizer, data_dir):
    info = AudioInfo(0.0, 16_000, 1, "pcm_s16le", "wav", "mono", 0.0, 0.0)
    empty = ProcessedAudio(info, (np.zeros(0, dtype=np.float32),))
    with pytest.raises(EmptyAudioError):
        diarizer.diarize(empty)
    good = _load(data_dir / "dev01.wav")
    results = diarizer.diarize_batch([DiarizationRequest(empty), DiarizationRequest(good, 2, 2)])
    assert isinstance(results[0], StageFailure) and isinstance(results[0].error, EmptyAudioError)
    assert isinstance(results[1], list) and len({t.speaker for t in results[1]}) == 2


def test_batched_calls_give_the_same_turns_as_single_calls(diarizer, data_dir):
    audios = [_load(data_dir / "dev00.wav"), _load(data_dir / "dev01.wav")]
    batched = diarizer.diarize_batch([DiarizationRequest(a) for a in audios])
    assert batched == [diarizer.diarize(a) for a in audios]


def test_dual_channel_gives_one_speaker_per_channel(diarizer, stereo_call_path):
    audio = load_audio(stereo_call_path, AudioOptions(channel_layout="dual"))
    assert audio.info.layout == "dual"
    turns = diarizer.diarize(audio)
    assert {t.speaker for t in turns} == {"CHANNEL_0", "CHANNEL_1"}
    right = [t for t in turns if t.speaker == "CHANNEL_1"]
    # The right channel says one short sentence ("The horizon seems extremely distant.").
    assert sum(t.end - t.start for t in right) < 3.5


def _word_accuracy(diarizer, transcriber, tmp_path: Path, rate: int, **hints) -> tuple[int, float]:
    reference = build_dialogue(DOUBLE_CHARGE_CALL, tmp_path / f"call{rate}.wav", sample_rate_hz=rate)
    audio = load_audio(tmp_path / f"call{rate}.wav")
    turns = diarizer.diarize(audio, **hints)
    transcript = transcriber.transcribe(audio)
    utterances, roles = attribute_speakers(transcript, turns, audio.info, RoleOptions())
    role_of = {r.speaker: r.role for r in roles}
    right = total = 0
    for utterance in utterances:
        for word in utterance.words:
            middle = (word.start + word.end) / 2
            truth = min(reference, key=lambda r: max(r.start - middle, middle - r.end, 0.0)).speaker
            right += role_of.get(utterance.speaker) == truth
            total += 1
    return len({t.speaker for t in turns}), right / max(total, 1)


@pytest.mark.slow
@pytest.mark.parametrize("rate", [16000, 8000])
def test_espeak_dialogue_two_speakers_every_word_right(diarizer, transcriber, tmp_path, rate):
    speakers, accuracy = _word_accuracy(diarizer, transcriber, tmp_path, rate)
    assert speakers == 2
    assert accuracy == 1.0
