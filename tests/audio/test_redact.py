"""The redacted copy of a recording, on the shared recordings in each stored format (no models):
spans padded, clipped and merged; every channel replaced; every other sample kept exactly."""

from __future__ import annotations

import io
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from callytics_ray.audio.decode import decode_native
from callytics_ray.audio.redact import AudioSpan, padded_spans, redact_recording
from callytics_ray.settings import AudioRedactionOptions

LIMITS = {"max_duration_s": 3600.0, "max_channels": 8}


def _mask(spans: tuple[AudioSpan, ...], rate: int, n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    for span in spans:
        mask[math.floor(span.start_s * rate):math.ceil(span.end_s * rate)] = True
    return mask


def test_spans_are_padded_clipped_and_merged():
    spans = [AudioSpan(5.0, 6.0), AudioSpan(0.1, 0.5), AudioSpan(6.4, 7.0), AudioSpan(29.9, 31.0)]
    merged = [x for s in padded_spans(spans, 0.3, 30.0) for x in (s.start_s, s.end_s)]
    assert merged == pytest.approx([0.0, 0.8, 4.7, 7.3, 29.6, 30.0])
    assert padded_spans([], 0.3, 30.0) == ()


def test_a_float_wav_stays_float_and_exact(data_dir):
    source = (data_dir / "dev00.wav").read_bytes()
    options = AudioRedactionOptions(mode="bleep", tone_hz=800.0, tone_level=0.5, pad_s=0.2)
    copy = redact_recording(source, [AudioSpan(3.0, 4.5), AudioSpan(10.0, 10.2)], options, **LIMITS)
    assert (copy.container, copy.sample_format, copy.lossless_source) == ("wav", "flt", True)
    original, rate = sf.read(io.BytesIO(source), dtype="float32")
    redacted, _ = sf.read(io.BytesIO(copy.data), dtype="float32")
    mask = _mask(copy.applied, rate, len(original))
    n = np.arange(len(original), dtype=np.float64)
    bleep = (0.5 * np.sin(2.0 * np.pi * 800.0 * n / rate)).astype(np.float32)
    assert [x for s in copy.applied for x in (s.start_s, s.end_s)] == pytest.approx([2.8, 4.7, 9.8, 10.4])
    assert np.array_equal(redacted[mask], bleep[mask]) and np.array_equal(redacted[~mask], original[~mask])


def test_a_lossy_recording_becomes_16_bit_flac_of_its_decode(data_dir):
    source = (data_dir / "multilingual.mp3").read_bytes()
    copy = redact_recording(source, [AudioSpan(1.0, 2.0)], AudioRedactionOptions(mode="silence"), **LIMITS)
    assert (copy.content_type, copy.sample_format, copy.lossless_source) == ("audio/flac", "s16", False)
    decoded = decode_native(source, **LIMITS).samples  # the mp3 decoded and rounded to 16 bits once
    redacted, rate = sf.read(io.BytesIO(copy.data), dtype="int16", always_2d=True)
    mask = _mask(copy.applied, rate, decoded.shape[1])
    assert rate == copy.sample_rate_hz and redacted.shape[0] == decoded.shape[1]
    assert not redacted[mask].any() and np.array_equal(redacted.T[:, ~mask], decoded[:, ~mask])


def test_every_channel_of_a_multichannel_recording_is_replaced(data_dir, tmp_path: Path):
    three = tmp_path / "three.wav"
    mono = [str(data_dir / name) for name in ("trn00.wav", "trn03.wav", "trn07.wav")]
    subprocess.run(["sox", "-M", *mono, str(three)], check=True, capture_output=True)
    copy = redact_recording(three.read_bytes(), [AudioSpan(12.0, 13.0)], AudioRedactionOptions(pad_s=0.0), **LIMITS)
    original, rate = sf.read(three, dtype="int16")
    redacted, _ = sf.read(io.BytesIO(copy.data), dtype="int16")
    assert copy.channels == 3 and redacted.shape == original.shape
    mask = _mask(copy.applied, rate, len(original))
    n = np.arange(len(original), dtype=np.float64)
    bleep = np.round(0.25 * 32767.0 * np.sin(2.0 * np.pi * 1000.0 * n / rate)).astype(np.int16)
    for channel in range(3):
        assert np.array_equal(redacted[mask, channel], bleep[mask])
        assert np.array_equal(redacted[~mask, channel], original[~mask, channel])


@pytest.mark.parametrize("name", ["stereo_diarization.wav", "synthetic_stereo_call_bleed.wav"])
def test_no_spans_gives_the_recording_back_sample_for_sample(data_dir, name):
    source = (data_dir / name).read_bytes()
    copy = redact_recording(source, [], AudioRedactionOptions(), **LIMITS)
    assert copy.applied == () and copy.content_type == "audio/flac"
    assert np.array_equal(sf.read(io.BytesIO(copy.data), dtype="int16")[0], sf.read(io.BytesIO(source), dtype="int16")[0])
