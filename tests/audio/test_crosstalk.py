"""Crosstalk suppression on real two-channel recordings (no models)."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from bench.calls import constructed_calls, write_call
from callytics_ray.audio.crosstalk import NO_LEAK_DB, frame_power_db, suppress_crosstalk
from callytics_ray.audio.decode import decode_audio
from callytics_ray.audio.processor import load_audio
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


def _own_and_alone(call, times, hangover_s=0.2):
    """Per channel: frames where its party talks, and frames where only the other party does,
    farther than the suppression's hangover from this party's speech."""
    masks = []
    for party in call.parties:
        mine = np.zeros(len(times), bool)
        near = np.zeros(len(times), bool)
        others = np.zeros(len(times), bool)
        for turn in call.turns:
            inside = (times >= turn.start) & (times < turn.end)
            if turn.speaker == party:
                mine |= inside
                near |= (times >= turn.start - hangover_s) & (times < turn.end + hangover_s)
            else:
                others |= inside
        masks.append((mine, others & ~near))
    return masks


@pytest.mark.parametrize("rate", [16_000, 8_000])
def test_leaks_of_constructed_calls_are_silenced_after_the_audio_stage(data_dir, tmp_path, rate):
    # The pipeline measures the leak on the channels it hands on: decoded, resampled, each channel
    # normalised to its own loudness. The leak must be found there at 16 kHz and over a phone band.
    for call in constructed_calls(data_dir):
        wav, _ = write_call(call, tmp_path)
        if rate != 16_000:
            narrow = tmp_path / f"{call.name}_{rate}.wav"
            subprocess.run(["sox", str(wav), "-r", str(rate), str(narrow)], check=True)
            wav = narrow
        audio = load_audio(wav, AudioOptions(channel_layout="dual"))
        before = load_audio(wav, AudioOptions(channel_layout="dual", crosstalk_suppression=False))
        times = np.arange(len(frame_power_db(audio.channels[0], 16_000))) * 0.01 + 0.005
        for channel, (mine, alone) in enumerate(_own_and_alone(call, times)):
            level = frame_power_db(audio.channels[channel], 16_000)[: len(times)]
            heard = frame_power_db(before.channels[channel], 16_000)[: len(times)]
            # The party's speech: its turns' frames within 25 dB of the channel's loud frames
            # (a turn's pauses are line noise, and may be silenced). Some of a barge-in's first
            # frames go: quieter than the other party's leak plus the margin (call_ami: 0.2 s).
            speech = mine & (heard > np.percentile(heard, 95) - 25)
            assert np.mean(level[speech] > -70) > 0.95, (call.name, channel)
            assert np.mean(level[alone] > -70) < 0.05, (call.name, channel)


def test_constructed_calls_without_bleed_are_left_as_they_are(data_dir, tmp_path):
    # The same calls with nothing of the other party on a channel: its pauses are line noise, and
    # there is no leak to measure; silencing them would be a guess.
    for call in constructed_calls(data_dir, bleed=False):
        channels = [call.channels[0].astype(np.float32), call.channels[1].astype(np.float32)]
        cleaned, report = suppress_crosstalk(channels, 16_000, AudioOptions())
        assert report.coupling_db == (NO_LEAK_DB, NO_LEAK_DB), call.name
        assert all(np.array_equal(a, b) for a, b in zip(channels, cleaned, strict=True))
