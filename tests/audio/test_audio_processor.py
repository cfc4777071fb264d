"""The audio stage on real recordings in every common container, and every kind of bad input."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from callytics_ray.audio import decode_audio, load_audio
from callytics_ray.audio.enhance import estimate_snr_db
from callytics_ray.errors import (
    AudioTooLongError,
    CorruptAudioError,
    EmptyAudioError,
    NotAudioError,
    SilentAudioError,
    TooManyChannelsError,
)
from callytics_ray.settings import AudioOptions


def ffmpeg(*args: str) -> None:
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is not installed: scripts/test.sh installs it")
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def encoded(tmp_path_factory, data_dir: Path) -> dict[str, Path]:
    """dev00.wav re-encoded into each container/codec a call centre sends us."""
    out = tmp_path_factory.mktemp("encoded")
    src = str(data_dir / "dev00.wav")
    files = {
        "flac": ["-c:a", "flac"],
        "mp3": ["-c:a", "libmp3lame", "-b:a", "64k"],
        "m4a": ["-c:a", "aac", "-b:a", "64k"],
        "ogg": ["-c:a", "libopus", "-b:a", "32k"],
        "webm": ["-c:a", "libopus", "-b:a", "32k"],
    }
    paths = {}
    for ext, codec in files.items():
        paths[ext] = out / f"dev00.{ext}"
        ffmpeg("-i", src, *codec, str(paths[ext]))
    paths["wav8k"] = out / "dev00_8k.wav"
    ffmpeg("-i", src, "-ar", "8000", "-c:a", "pcm_s16le", str(paths["wav8k"]))
    paths["wav48k"] = out / "dev00_48k.wav"
    ffmpeg("-i", src, "-ar", "48000", str(paths["wav48k"]))
    return paths


@pytest.mark.parametrize("kind", ["flac", "mp3", "m4a", "ogg", "webm", "wav8k", "wav48k"])
def test_every_format_decodes_to_16k(encoded, kind):
    audio = load_audio(encoded[kind])
    assert audio.sample_rate_hz == 16_000
    assert audio.channels[0].dtype == np.float32
    assert abs(audio.duration_s - 30.0) < 0.2
    assert audio.info.layout == "mono"
    assert 0.4 < audio.info.speech_ratio < 0.9
    assert audio.info.sample_rate_hz == {"wav8k": 8000, "wav48k": 48000, "ogg": 48000, "webm": 48000}.get(kind, 16000)


def test_reported_info_for_the_shared_mp3(data_dir):
    audio = load_audio(data_dir / "multilingual.mp3")
    info = audio.info
    assert info.codec.startswith("mp3") and info.container == "mp3"
    assert info.sample_rate_hz == 24000 and info.channels == 1
    assert 59 < info.duration_s < 61
    assert info.snr_db > 20
    assert info.speech_ratio > 0.8


def test_bytes_and_paths_give_the_same_audio(data_dir):
    path = data_dir / "stereo_diarization.wav"
    from_path = load_audio(path)
    from_bytes = load_audio(path.read_bytes())
    assert np.allclose(from_path.channels[0], from_bytes.channels[0])


def test_dual_channel_call_keeps_channels_apart(stereo_call_path):
    audio = load_audio(stereo_call_path)
    assert audio.info.layout == "dual"
    assert len(audio.channels) == 2
    assert not np.allclose(audio.channels[0], audio.channels[1])


def test_mono_copied_to_two_channels_is_mono(tmp_path, data_dir):
    samples, rate = sf.read(data_dir / "dev00.wav", dtype="float32")
    path = tmp_path / "twin.wav"
    sf.write(path, np.stack([samples, samples], axis=1), rate)
    audio = load_audio(path)
    assert audio.info.channels == 2
    assert audio.info.layout == "mono" and len(audio.channels) == 1


def test_layout_override(stereo_call_path):
    assert len(load_audio(stereo_call_path, layout="mono").channels) == 1
    assert len(load_audio(stereo_call_path, AudioOptions(channel_layout="mono"), layout="dual").channels) == 2


def test_noise_reduction_runs_on_noisy_calls_and_raises_snr(tmp_path, data_dir):
    samples, rate = sf.read(data_dir / "dev00.wav", dtype="float32")
    samples = samples / np.max(np.abs(samples)) * 0.5
    noisy = samples + np.random.default_rng(0).normal(0, 0.03, len(samples)).astype(np.float32)
    path = tmp_path / "noisy.wav"
    sf.write(path, noisy, rate)
    before = estimate_snr_db(noisy, rate)
    audio = load_audio(path)
    assert audio.info.snr_db == pytest.approx(before, abs=0.5)
    assert audio.info.noise_reduced
    assert estimate_snr_db(audio.channels[0], 16_000) > before + 3
    kept = load_audio(path, AudioOptions(noise_reduction="off"))
    assert not kept.info.noise_reduced


def test_clean_audio_is_not_denoised(data_dir):
    assert not load_audio(data_dir / "dev00.wav").info.noise_reduced


def test_loudness_normalisation_brings_quiet_speech_to_target(tmp_path, data_dir):
    samples, rate = sf.read(data_dir / "dev00.wav", dtype="float32")
    quiet = samples / np.max(np.abs(samples)) * 0.01
    path = tmp_path / "quiet.wav"
    sf.write(path, quiet, rate)
    audio = load_audio(path, AudioOptions(target_loudness_dbfs=-20.0))
    assert audio.info.gain_db > 15
    assert np.max(np.abs(audio.channels[0])) <= 1.0
    untouched = load_audio(path, AudioOptions(loudness_normalization=False))
    assert untouched.info.gain_db == 0.0
    assert np.max(np.abs(untouched.channels[0])) < 0.02


# --- bad input: one typed error each, never a crash ------------------------------------------


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(EmptyAudioError, match="empty"):
        load_audio(path)
    with pytest.raises(EmptyAudioError):
        load_audio(b"")


def test_text_file_is_not_audio(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("this is not a recording\n" * 100)
    with pytest.raises(NotAudioError, match="not a readable audio file"):
        load_audio(path)


def test_random_bytes_are_not_audio():
    with pytest.raises(NotAudioError):
        load_audio(np.random.default_rng(1).bytes(50_000))


def test_zero_length_wav(tmp_path):
    path = tmp_path / "zero.wav"
    sf.write(path, np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(EmptyAudioError):
        load_audio(path)


def test_truncated_file_is_corrupt(tmp_path, data_dir):
    path = tmp_path / "truncated.wav"
    path.write_bytes((data_dir / "dev00.wav").read_bytes()[:40_000])
    with pytest.raises(CorruptAudioError, match="truncated"):
        load_audio(path)


def test_damaged_mp3_is_corrupt(tmp_path, data_dir):
    good = (data_dir / "multilingual.mp3").read_bytes()
    path = tmp_path / "damaged.mp3"
    path.write_bytes(good[:2000] + bytes(range(256)) * 200 + good[60_000:80_000])
    with pytest.raises(CorruptAudioError):
        load_audio(path)


def test_digital_silence(tmp_path):
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros(16000 * 3, dtype=np.float32), 16000)
    with pytest.raises(SilentAudioError, match="silent"):
        load_audio(path)


def test_noise_without_speech(tmp_path):
    path = tmp_path / "hiss.wav"
    sf.write(path, np.random.default_rng(2).normal(0, 0.05, 16000 * 3).astype(np.float32), 16000)
    with pytest.raises(SilentAudioError, match="no speech"):
        load_audio(path)


def test_longer_than_the_limit(data_dir):
    with pytest.raises(AudioTooLongError, match="limit"):
        load_audio(data_dir / "dev00.wav", AudioOptions(max_duration_s=10))


def test_limit_holds_without_a_declared_duration(data_dir):
    # Raw ADTS/MP3 streams may not declare a duration: the decoder must stop by itself.
    with pytest.raises(AudioTooLongError):
        decode_audio(data_dir / "multilingual.mp3", target_sample_rate_hz=16000, max_duration_s=20, max_channels=2)


def test_too_many_channels(tmp_path):
    path = tmp_path / "quad.wav"
    tone = np.sin(np.linspace(0, 2000, 8000)).astype(np.float32)
    sf.write(path, np.stack([tone] * 4, axis=1), 8000)
    with pytest.raises(TooManyChannelsError, match="4 channels"):
        load_audio(path)
