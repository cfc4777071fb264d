"""Per-party audio metrics on real recordings against their ground truth: loudness per speaker on
the original levels (checked with pyloudnorm over the reference speaker times), talk speed over the
call, and non-talk time (checked against the silences of the reference turns)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile

from callytics_ray.audio import load_audio
from callytics_ray.loudness import integrated_lufs, measure_envelope
from callytics_ray.pipeline import analyze_file
from callytics_ray.quality import QualityAnalyzer
from callytics_ray.result import CallAnalysis
from callytics_ray.types import SpeakerRole, Utterance

pytestmark = pytest.mark.models

BLEED = "synthetic_stereo_call_bleed.wav"
# The bleed call's pauses are 0.45-0.7 s; hold-like stretches are inserted (sox pad) so that it has
# non-talk time at the default 3 s threshold: 3.5 s before the first turn, 4 s between turns 4 and 5.
PADS = ((0.0, 3.5), (12.65, 4.0))
NON_TALK_MIN_S = 3.0
# Whisper's word timings and the channel VAD's turns stray about 0.2 s from the exact turn extents.
TIMING_TOLERANCE_S = 0.35
LOUDNESS_TOLERANCE_LU = 1.0


def _shifted(t: float) -> float:
    return t + sum(length for at, length in PADS if t >= at)


def _reference_turns(data_dir: Path) -> list[dict]:
    """The bleed call's turns (speaker, channel, text) at their times in the padded recording."""
    turns = json.loads((data_dir / BLEED.replace(".wav", ".json")).read_text())["turns"]
    return [{**t, "start": _shifted(t["start"]), "end": _shifted(t["end"])} for t in turns]


@pytest.fixture(scope="module")
def padded_call_path(data_dir: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("metrics") / "bleed_with_holds.wav"
    pads = [f"{length}@{at}" for at, length in PADS]
    subprocess.run(["sox", str(data_dir / BLEED), str(out), "pad", *pads], check=True)
    return out


@pytest.fixture(scope="module")
def analysed(local_stages, session_settings, padded_call_path: Path, stereo_call_path: Path) -> dict[str, CallAnalysis]:
    """Both recordings through the real pipeline, once for the module."""
    return {
        path.name: analyze_file(path, session_settings, stages=local_stages, language="en")
        for path in (padded_call_path, stereo_call_path)
    }


def _meter_lufs(path: Path, channel: int, intervals: list[tuple[float, float]] | None = None) -> float:
    """pyloudnorm's integrated loudness of the file as stored (soundfile, not our decoder), over
    `intervals` of one channel (the whole channel when None)."""
    samples, rate = soundfile.read(path, dtype="float64", always_2d=True)
    samples = samples[:, channel]
    if intervals is not None:
        samples = np.concatenate([samples[int(a * rate) : int(b * rate)] for a, b in intervals])
    return float(pyloudnorm.Meter(rate).integrated_loudness(samples))


def _channel_of(analysis: CallAnalysis, speaker: str) -> int:
    return next(s.channel for s in analysis.segments if s.speaker == speaker)


def test_loudness_per_party_matches_pyloudnorm_over_the_reference_speaker_times(analysed, padded_call_path, data_dir):
    analysis = analysed[padded_call_path.name]
    turns = _reference_turns(data_dir)
    assert analysis.audio.layout == "dual" and analysis.audio.gain_db != 0.0  # normalised for the models
    for party in analysis.quality.speakers:
        channel = _channel_of(analysis, party.speaker)
        reference = _meter_lufs(padded_call_path, channel,
                                [(t["start"], t["end"]) for t in turns if t["channel"] == channel])
        assert party.loudness_lufs == pytest.approx(reference, abs=LOUDNESS_TOLERANCE_LU), party.speaker
        # One point per utterance, each on that utterance's time.
        own = [s for s in analysis.segments if s.speaker == party.speaker]
        assert [(p.start, p.end) for p in party.loudness] == [(s.start, s.end) for s in own]
        assert all(abs(p.lufs - reference) < 6.0 for p in party.loudness)


def test_loudness_per_party_on_the_stereo_recording(analysed, stereo_call_path):
    # One speaker per channel and no reference times: the standard's own gating over the whole
    # channel finds that speaker's speech.
    analysis = analysed[stereo_call_path.name]
    levels = {}
    for party in analysis.quality.speakers:
        channel = _channel_of(analysis, party.speaker)
        levels[channel] = party.loudness_lufs
        assert party.loudness_lufs == pytest.approx(_meter_lufs(stereo_call_path, channel), abs=LOUDNESS_TOLERANCE_LU)
    # The two voices were recorded about 5 LU apart; normalisation evens them out for the models only.
    assert levels[1] - levels[0] > 3.0


def test_talk_speed_windows_add_up_to_the_word_counts(analysed, session_settings):
    window_s = session_settings.quality.talk_speed_window_s
    for analysis in analysed.values():
        for party in analysis.quality.speakers:
            words = sum(len(s.words) for s in analysis.segments if s.speaker == party.speaker)
            assert party.words == words and sum(p.words for p in party.talk_speed) == words
            assert sum(p.talk_time_s for p in party.talk_speed) == pytest.approx(party.talk_time_s, abs=0.01)
            starts = [w.start for s in analysis.segments if s.speaker == party.speaker for w in s.words]
            for point in party.talk_speed:
                assert point.start % window_s == 0 and point.end - point.start <= window_s + 1e-6
                assert point.wpm == pytest.approx(point.words / point.talk_time_s * 60, rel=0.01)
                # Each word counted in the window its start lies in.
                assert point.words == sum(1 for t in starts if point.start <= t < point.end)


def test_non_talk_time_matches_the_silences_of_the_reference_turns(analysed, padded_call_path, data_dir):
    analysis = analysed[padded_call_path.name]
    turns = sorted(_reference_turns(data_dir), key=lambda t: t["start"])
    # Silences of the reference: before the first turn, between turns (overlaps leave none), after the last.
    edges, covered = [(0.0, turns[0]["start"])], turns[0]["end"]
    for turn in turns[1:]:
        if turn["start"] > covered:
            edges.append((covered, turn["start"]))
        covered = max(covered, turn["end"])
    edges.append((covered, analysis.audio.duration_s))
    expected = [(a, b) for a, b in edges if b - a >= NON_TALK_MIN_S]
    assert len(expected) == 2  # the inserted holds; the call's own pauses are shorter
    quality = analysis.quality
    got = [(n.start, n.end) for n in quality.non_talk]
    assert len(got) == len(expected), got
    for (a, b), (ra, rb) in zip(got, expected, strict=True):
        assert a == pytest.approx(ra, abs=TIMING_TOLERANCE_S) and b == pytest.approx(rb, abs=TIMING_TOLERANCE_S)
    assert quality.non_talk_time_s == pytest.approx(sum(b - a for a, b in expected), abs=2 * TIMING_TOLERANCE_S)
    assert quality.non_talk_ratio == pytest.approx(quality.non_talk_time_s / analysis.audio.duration_s, abs=1e-3)
    assert analysed["stereo_diarization.wav"].quality.non_talk == []


# --- a party recorded 10 dB quieter (no speech models: the reference turns stand in for them) ---


def _reference_utterances(data_dir: Path) -> tuple[list[Utterance], list[SpeakerRole]]:
    turns = json.loads((data_dir / BLEED.replace(".wav", ".json")).read_text())["turns"]
    utterances = [Utterance(t["start"], t["end"], f"CHANNEL_{t['channel']}", t["text"], channel=t["channel"])
                  for t in turns]
    return utterances, [SpeakerRole("CHANNEL_0", "agent", 1.0, 0.0), SpeakerRole("CHANNEL_1", "customer", 1.0, 0.0)]


def test_a_channel_scaled_by_minus_10_db_is_that_party_10_db_quieter(data_dir, tmp_path):
    quieter = tmp_path / "customer_minus_10_db.wav"
    subprocess.run(["sox", str(data_dir / BLEED), str(quieter), "remix", "1", f"2v{10 ** (-10 / 20):.6f}"], check=True)
    utterances, roles = _reference_utterances(data_dir)
    customer = [(u.start, u.end) for u in utterances if u.channel == 1]
    loudness, normalised = {}, {}
    for name, path in (("original", data_dir / BLEED), ("quieter", quieter)):
        audio = load_audio(path)
        # Compact: one value per 100 ms per kept channel (36,000 per channel for an hour).
        assert audio.info.loudness.frames_lufs.shape == (2, int(audio.info.duration_s / 0.1))
        quality = QualityAnalyzer().measure(utterances, roles, duration_s=audio.info.duration_s,
                                            loudness=audio.info.loudness)
        loudness[name] = {s.role: s.loudness_lufs for s in quality.speakers}
        # What the audio stage hands the models: normalised, so the difference is gone there.
        output = measure_envelope(audio.channels, audio.sample_rate_hz)
        normalised[name] = integrated_lufs(output.channel(1), output.frame_s, customer)
    assert loudness["quieter"]["customer"] - loudness["original"]["customer"] == pytest.approx(-10.0, abs=0.3)
    assert loudness["quieter"]["agent"] == pytest.approx(loudness["original"]["agent"], abs=0.3)
    assert abs(normalised["quieter"] - normalised["original"]) < 1.5
