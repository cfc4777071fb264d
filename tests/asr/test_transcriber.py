"""Speech recognition with the bundled models on the shared recordings and espeak-ng speech."""

from __future__ import annotations

import dataclasses
import re

import jiwer
import numpy as np
import pytest

from callytics_ray.asr import Transcriber, choose_device
from callytics_ray.audio import load_audio
from callytics_ray.errors import ConfigError, ModelNotFoundError
from callytics_ray.failures import StageFailure
from callytics_ray.settings import AsrOptions, Settings
from callytics_ray.types import ProcessedAudio
from tests.synth import espeak

pytestmark = pytest.mark.models

ENGLISH_REFERENCE = (
    "Permission is hereby granted, free of charge, to any person obtaining a copy of the software and "
    "associated documentation files to deal in the software without restriction, including without "
    "limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies "
    "of the software, and to permit persons to whom the software is furnished to do so, subject to the "
    "following conditions. The above copyright notice and this permission notice shall be included in all "
    "copies or substantial portions of the software."
)
LEFT = "He began a confused complaint against the wizard, who had vanished behind the curtain on the left."
RIGHT = "The horizon seems extremely distant."


def normalize(text: str) -> str:
    text = text.lower().replace("/", " ").replace("-", " ")
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s']", " ", text)).strip()


def wer(reference: str, hypothesis: str) -> float:
    return jiwer.wer(normalize(reference), normalize(hypothesis))


def clip(audio: ProcessedAudio, start_s: float, end_s: float) -> ProcessedAudio:
    rate = audio.sample_rate_hz
    channels = tuple(c[int(start_s * rate) : int(end_s * rate)] for c in audio.channels)
    info = dataclasses.replace(audio.info, duration_s=end_s - start_s)
    return ProcessedAudio(info=info, channels=channels, sample_rate_hz=rate)


def from_samples(samples: np.ndarray) -> ProcessedAudio:
    from callytics_ray.types import AudioInfo

    info = AudioInfo(len(samples) / 16000, 16000, 1, "pcm_f32le", "wav", "mono", 40.0, 0.9)
    return ProcessedAudio(info=info, channels=(samples.astype(np.float32),))


@pytest.fixture(scope="module")
def english_part(data_dir) -> ProcessedAudio:
    # The English reading ends at about 29 s; the German translation follows.
    return clip(load_audio(data_dir / "multilingual.mp3"), 0.0, 29.6)


def test_english_wer_on_the_shared_mp3(transcriber, english_part):
    transcript = transcriber.transcribe(english_part)
    assert transcript.language == "en"
    assert transcript.language_probability > 0.9
    score = wer(ENGLISH_REFERENCE, transcript.text)
    assert score <= 0.15, f"WER {score:.3f}: {transcript.text}"


def test_words_carry_ordered_timestamps_and_probabilities(transcriber, english_part):
    transcript = transcriber.transcribe(english_part)
    words = transcript.words
    assert len(words) > 60
    assert all(0 <= w.start <= w.end <= english_part.duration_s + 0.5 for w in words)
    assert all(a.start <= b.start for a, b in zip(words, words[1:]))
    assert all(0.0 <= w.probability <= 1.0 for w in words)
    # "Permission" opens the recording within its first second.
    assert normalize(words[0].text) == "permission" and words[0].start < 1.0


def test_each_channel_of_a_dual_channel_call(transcriber, stereo_call_path):
    transcript = transcriber.transcribe(load_audio(stereo_call_path))
    by_channel = {c: " ".join(s.text for s in transcript.segments if s.channel == c) for c in (0, 1)}
    assert wer(LEFT, by_channel[0]) <= 0.1, by_channel[0]
    assert wer(RIGHT, by_channel[1]) <= 0.1, by_channel[1]


def test_no_words_in_appended_silence_and_noise(transcriber, data_dir):
    audio = load_audio(data_dir / "stereo_diarization.wav", layout="mono")
    speech = audio.channels[0]
    rng = np.random.default_rng(7)
    tail = np.concatenate([np.zeros(16000 * 10, np.float32), rng.normal(0, 0.02, 16000 * 10).astype(np.float32)])
    transcript = transcriber.transcribe(from_samples(np.concatenate([speech, tail])))
    end_of_speech = len(speech) / 16000
    late = [w for w in transcript.words if w.start > end_of_speech + 0.3]
    assert transcript.words, "the speech itself must still be transcribed"
    assert late == [], f"hallucinated words in silence/noise: {late}"


def test_korean_with_a_language_hint(transcriber):
    # Whisper base does not identify espeak-ng's Korean voice (it says Thai; see shared/models.md),
    # so this checks the nearest honest thing: with the hint, the Korean decoder produces Korean.
    samples = espeak("안녕하세요. 고객센터입니다. 무엇을 도와드릴까요?", "ko")
    transcript = transcriber.transcribe(from_samples(samples), AsrOptions(language="ko"))
    assert transcript.language == "ko"
    assert re.search(r"[\uac00-\ud7a3]", transcript.text), transcript.text
    assert "도와" in transcript.text.replace(" ", "")


def test_allowed_languages_restrict_detection(transcriber, english_part):
    detected = transcriber.transcribe(english_part, AsrOptions(allowed_languages=["en", "ko"]))
    assert detected.language == "en"
    restricted = transcriber.transcribe(clip(english_part, 0, 8), AsrOptions(allowed_languages=["ko", "ja"]))
    assert restricted.language in {"ko", "ja"}


def test_forced_language_outside_allowed_is_refused(transcriber, english_part):
    with pytest.raises(ConfigError, match="allowed_languages"):
        transcriber.transcribe(english_part, AsrOptions(language="de", allowed_languages=["en", "ko"]))


def test_batched_pipeline_for_long_calls_agrees(transcriber, data_dir):
    audio = load_audio(data_dir / "dev00.wav")
    sequential = transcriber.transcribe(audio)
    batched = transcriber.transcribe(audio, AsrOptions(batched_min_duration_s=0, batch_size=4))
    assert batched.words
    assert wer(sequential.text, batched.text) < 0.35


def test_transcribe_batch_keeps_order_and_isolates_failures(transcriber, stereo_call_path, english_part):
    stereo = load_audio(stereo_call_path, layout="mono")
    results = transcriber.transcribe_batch(
        [(stereo, None), (english_part, AsrOptions(language="de", allowed_languages=["en"])), (stereo, None)]
    )
    assert len(results) == 3
    assert "wizard" in results[0].text.lower() and results[0].text == results[2].text
    assert isinstance(results[1], StageFailure) and isinstance(results[1].error, ConfigError)
    assert "allowed_languages" in str(results[1].error)


def test_calls_decoded_together_each_keep_their_own_words_times_and_channels(
    transcriber, stereo_call_path, english_part
):
    stereo = load_audio(stereo_call_path, layout="dual")
    short = clip(english_part, 0.0, 12.0)
    together = transcriber.transcribe_batch([(english_part, None), (stereo, None), (short, None)])
    alone = [transcriber.transcribe(a) for a in (english_part, stereo, short)]
    assert all(hasattr(t, "segments") for t in together), together
    english, both_channels, opening = together
    # The shared decode chunks speech by VAD rather than by 30 s windows; the words stay right.
    assert wer(ENGLISH_REFERENCE, english.text) <= 0.15, english.text
    assert english.language == "en" and english.language_probability > 0.9
    assert wer(alone[2].text, opening.text) <= 0.2, (alone[2].text, opening.text)
    assert normalize(opening.words[0].text) == "permission" and opening.words[0].start < 1.0
    for transcript, audio in zip(together, (english_part, stereo, short)):
        assert all(0.0 <= w.start <= w.end <= audio.duration_s for w in transcript.words)
    by_channel = {c: " ".join(s.text for s in both_channels.segments if s.channel == c) for c in (0, 1)}
    assert wer(LEFT, by_channel[0]) <= 0.1 and wer(RIGHT, by_channel[1]) <= 0.1, by_channel


def test_tiny_en_is_selectable(model_cache, stereo_call_path):
    settings = Settings(cache_dir=model_cache, _env_file=None)
    settings.asr.model = "bundled:whisper-tiny.en"
    tiny = Transcriber.from_settings(settings)
    assert not tiny.is_multilingual
    transcript = tiny.transcribe(load_audio(stereo_call_path))
    assert transcript.language == "en"
    assert "horizon" in transcript.text.lower()
    with pytest.raises(ConfigError, match="English-only"):
        tiny.transcribe(load_audio(stereo_call_path), AsrOptions(language="ko"))


def test_unknown_model_is_a_clear_error(model_cache):
    settings = Settings(cache_dir=model_cache, _env_file=None)
    settings.asr.model = "no-such-model"
    with pytest.raises(ModelNotFoundError, match="faster-whisper names"):
        Transcriber.from_settings(settings)


def test_device_is_chosen_from_what_is_visible():
    import ctranslate2

    choice = choose_device("auto", "auto")
    if ctranslate2.get_cuda_device_count() > 0:
        assert (choice.device, choice.compute_type) == ("cuda", "float16")
    else:
        assert (choice.device, choice.compute_type) == ("cpu", "int8")
    assert choose_device("cuda", "auto").compute_type == "float16"
