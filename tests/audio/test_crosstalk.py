"""Crosstalk suppression on real two-channel recordings (no models)."""

from __future__ import annotations

import json

import numpy as np

from callytics_ray.audio.crosstalk import NO_LEAK_DB, frame_power_db, suppress_crosstalk
from callytics_ray.audio.decode import decode_audio
from callytics_ray.settings import AudioOptions


def _channels(path):
    decoded = decode_audio(path, target_sample_rate_hz=16_000, max_duration_s=600, max_channels=2)
    return [decoded.samples[0].copy(), decoded.samples[1].copy()]


def test_the_leak_is_measured_and_silenced_where_only_the_other_party_talks(data_dir):
    truth = json.loads((data_dir / "synthetic_stereo_call_bleed.json").read_text())
    channels = _channels(data_dir / "synthetic_stereo_call_bleed.wav")
    cleaned, report = suppress_crosstalk(channels, 16_000, AudioOptions())
    # Built with 12 % / 14 % leaks (-18.4 / -17.1 dB): measured within 1.5 dB.
    assert abs(report.coupling_db[0] - 20 * np.log10(0.14)) < 1.5
    assert abs(report.coupling_db[1] - 20 * np.log10(0.12)) < 1.5
    times = np.arange(len(frame_power_db(cleaned[0], 16_000))) * 0.01 + 0.005
    for channel in (0, 1):
        level = frame_power_db(cleaned[channel], 16_000)
        mine = np.zeros(len(times), bool)
        others = np.zeros(len(times), bool)
        for turn in truth["turns"]:
            inside = (times >= turn["start"]) & (times < turn["end"])
            (mine if turn["channel"] == channel else others).__ior__(inside)
        alone = others & ~mine
        assert np.mean(level[mine] > -70) > 0.97  # the party's own speech stays
        assert np.mean(level[alone] > -70) < 0.1  # the other party's leak is gone


def test_a_recording_without_a_leak_is_left_as_it_is(stereo_call_path):
    # Two independent recordings, one per channel, talking at the same time: nothing leaks, so
    # nothing is cut (the quieter party must not be taken for the other's echo).
    channels = _channels(stereo_call_path)
    cleaned, report = suppress_crosstalk(channels, 16_000, AudioOptions())
    assert report.coupling_db == (NO_LEAK_DB, NO_LEAK_DB)
    assert all(np.array_equal(a, b) for a, b in zip(channels, cleaned, strict=True))
