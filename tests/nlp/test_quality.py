"""Communication-quality metrics on hand-timed utterances."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from callytics_ray.loudness import FRAME_S, integrated_lufs, measure_envelope
from callytics_ray.quality import QualityAnalyzer, merge_intervals, overlap_intervals, subtract_intervals
from callytics_ray.settings import QualityOptions
from callytics_ray.types import LoudnessEnvelope, SpeakerRole, SpeakerTurn, Utterance, Word
from tests.nlp.conftest import double_charge_utterances, make_utterance

ROLES = [SpeakerRole("A", "agent", 0.9, 0.0), SpeakerRole("C", "customer", 0.9, 0.0)]


@pytest.fixture(scope="module")
def analyzer() -> QualityAnalyzer:
    return QualityAnalyzer()


def test_merge_and_overlap_intervals():
    assert merge_intervals([(0, 1), (1.1, 2), (5, 6)], gap_s=0.2) == [(0, 2), (5, 6)]
    assert overlap_intervals({"a": [(0, 4)], "b": [(3, 6)], "c": [(10, 11)]}, 0.1) == [(3, 4)]
    assert overlap_intervals({"a": [(0, 4)], "b": [(3.95, 6)]}, 0.1) == []
    assert subtract_intervals([(0, 4), (5, 9)], [(1, 2), (3, 6), (8, 10)]) == [(0, 1), (2, 3), (6, 8)]


def test_talk_share_silence_and_latency(analyzer):
    # Agent talks 0-4 s, 4 s of dead air, customer talks 8-10 s, agent replies after 1 s.
    utterances = [
        make_utterance("A", "one two three four five six seven eight", 0.0, word_s=0.5, gap_s=0.0),
        make_utterance("C", "one two three four", 8.0, word_s=0.5, gap_s=0.0),
        make_utterance("A", "one two", 11.0, word_s=0.5, gap_s=0.0),
    ]
    q = analyzer.measure(utterances, ROLES, duration_s=12.0)
    assert q.talk_share_by_role == pytest.approx({"agent": 5 / 7, "customer": 2 / 7}, abs=1e-3)
    assert q.silence_ratio == pytest.approx(5 / 12, abs=1e-3)
    assert q.longest_silence_s == pytest.approx(4.0)
    assert q.overtalk_s == 0.0 and q.interruptions == []
    latency = {(r.from_speaker, r.to_speaker): r for r in q.response_latency}
    assert latency[("A", "C")].mean_s == pytest.approx(4.0)
    assert latency[("C", "A")].mean_s == pytest.approx(1.0)
    agent = next(s for s in q.speakers if s.speaker == "A")
    assert agent.words == 10 and agent.speaking_rate_wpm == pytest.approx(10 / (5 / 60), rel=1e-3)


def test_interruptions_and_overtalk(analyzer):
    agent = make_utterance("A", "let me explain the fee structure to you in detail now", 0.0, word_s=0.4, gap_s=0.1)
    # The customer cuts in at 2.0 s while the agent talks until ~5.4 s.
    customer = make_utterance("C", "no no stop I do not want to hear it", 2.0, word_s=0.3, gap_s=0.05)
    backchannel = Utterance(4.0, 4.3, "C", "okay", (Word(4.0, 4.3, " okay", 0.9),))
    q = analyzer.measure([agent, customer, backchannel], ROLES, duration_s=6.0)
    assert len(q.interruptions) == 1
    i = q.interruptions[0]
    assert (i.interrupter, i.interrupted, i.time) == ("C", "A", 2.0)
    assert i.overlap_s == pytest.approx(min(agent.end, customer.end) - 2.0, abs=1e-3)
    assert q.overtalk_s == pytest.approx(min(agent.end, customer.end) - 2.0, abs=0.3)
    assert next(s for s in q.speakers if s.speaker == "C").interruptions_made == 1
    strict = analyzer.measure([agent, customer], ROLES, duration_s=6.0,
                              options=QualityOptions(interruption_min_overlap_s=5.0))
    assert strict.interruptions == []


def test_wording_and_politeness_english_and_korean(analyzer):
    utterances = [
        make_utterance("A", "Thank you for calling, how can I help you? I am sorry for the trouble.", 0.0),
        make_utterance("C", "This is ridiculous, I am so upset. What the hell is going on, this is bullshit.", 6.0),
        make_utterance("A", "고객님 불편을 드려 죄송합니다. 바로 처리해 드리겠습니다.", 14.0),
        make_utterance("C", "정말 짜증나요. 씨발 진짜 최악이네.", 18.0),
    ]
    q = analyzer.measure(utterances, ROLES, duration_s=22.0)
    agent = next(s for s in q.speakers if s.role == "agent")
    customer = next(s for s in q.speakers if s.role == "customer")
    assert {"thank you", "how can i help", "sorry", "고객님", "죄송합니다", "불편을 드려"} <= set(agent.politeness_markers)
    assert agent.profane_words == {}
    assert customer.profane_words == {"hell": 1, "bullshit": 1, "씨발": 1}
    assert {"ridiculous", "upset", "짜증", "최악"} <= set(customer.negative_words)


def test_double_charge_call_metrics(analyzer):
    utterances, roles = double_charge_utterances()
    q = analyzer.measure(utterances, roles, duration_s=utterances[-1].end + 0.5)
    assert q.talk_share_by_role["agent"] > q.talk_share_by_role["customer"]
    assert 0.0 < q.silence_ratio < 0.4
    assert q.longest_silence_s == pytest.approx(0.6, abs=0.01)
    assert {(r.from_speaker, r.to_speaker) for r in q.response_latency} == {
        ("SPEAKER_00", "SPEAKER_01"), ("SPEAKER_01", "SPEAKER_00")}


def test_empty_call(analyzer):
    q = analyzer.measure([], ROLES, duration_s=5.0)
    assert q.silence_ratio == 1.0 and q.speakers == [] and q.talk_share_by_role == {}


def test_overtalk_of_a_mono_call_comes_from_the_diarization_turns(analyzer):
    # One stream of words (a mono transcript never overlaps itself), but diarization heard the
    # customer start 0.8 s before the agent finished.
    agent = make_utterance("A", "your refund is on its way", 0.0, word_s=0.4, gap_s=0.1)
    customer = make_utterance("C", "great thank you", agent.end + 0.05)
    turns = [SpeakerTurn(0.0, agent.end, "A"), SpeakerTurn(agent.end - 0.8, customer.end, "C")]
    assert analyzer.measure([agent, customer], ROLES, duration_s=6.0).overtalk_s == 0.0
    with_turns = analyzer.measure([agent, customer], ROLES, duration_s=6.0, turns=turns)
    assert with_turns.overtalk_s == pytest.approx(0.8, abs=1e-3)


# --- non-talk time, talk speed over the call, loudness per speaker ---------------------------------


def test_non_talk_time_counts_stretches_with_nobody_talking_from_the_threshold_on(analyzer):
    # Hold at the start (0-4 s), dead air 7-12 s, a 1 s pause 14-15 s, trailing silence 17-20 s.
    utterances = [
        make_utterance("A", "one two three four five six", 4.0, word_s=0.5, gap_s=0.0),
        make_utterance("C", "one two four", 12.0, word_s=0.5, gap_s=0.0),
        make_utterance("A", "one two three four", 15.0, word_s=0.5, gap_s=0.0),
    ]
    q = analyzer.measure(utterances, ROLES, duration_s=20.0)
    assert [(n.start, n.end, n.duration_s) for n in q.non_talk] == [(0.0, 4.0, 4.0), (7.0, 12.0, 5.0), (17.0, 20.0, 3.0)]
    assert q.non_talk_time_s == 12.0 and q.non_talk_ratio == pytest.approx(0.6)
    lower = analyzer.measure(utterances, ROLES, duration_s=20.0, options=QualityOptions(non_talk_min_s=1.0))
    assert (13.5, 15.0) in [(n.start, n.end) for n in lower.non_talk] and lower.non_talk_time_s == 13.5
    # With the diarization's turns, they decide who talks when: a turn the words missed is talk.
    turns = [SpeakerTurn(4.0, 7.0, "A"), SpeakerTurn(8.0, 11.5, "C"), SpeakerTurn(12.0, 13.5, "C"),
             SpeakerTurn(15.0, 17.0, "A")]
    with_turns = analyzer.measure(utterances, ROLES, duration_s=20.0, turns=turns)
    assert [(n.start, n.end) for n in with_turns.non_talk] == [(0.0, 4.0), (17.0, 20.0)]
    assert analyzer.measure([], ROLES, duration_s=5.0).non_talk_time_s == 5.0


def test_talk_speed_per_window_adds_up_to_the_words(analyzer):
    fast = make_utterance("A", " ".join(["word"] * 12), 2.0, word_s=0.2, gap_s=0.05)  # 12 words in 2.95 s
    slow = make_utterance("A", "one two three", 16.0, word_s=0.6, gap_s=0.4)  # 3 words, 1.8 s of talk (0.4 s pauses)
    across = make_utterance("C", "a b c d e f", 12.0, word_s=0.5, gap_s=0.0)  # 12.0-15.0: 6 words
    q = analyzer.measure([fast, across, slow], ROLES, duration_s=20.0, options=QualityOptions(talk_speed_window_s=10.0))
    agent = next(s for s in q.speakers if s.speaker == "A")
    assert [(p.start, p.end, p.words) for p in agent.talk_speed] == [(0.0, 10.0, 12), (10.0, 20.0, 3)]
    assert agent.talk_speed[0].wpm == pytest.approx(12 / (2.95 / 60), rel=1e-3)
    assert agent.talk_speed[1].talk_time_s == pytest.approx(1.8)
    assert sum(p.words for p in agent.talk_speed) == agent.words
    customer = next(s for s in q.speakers if s.speaker == "C")
    assert [(p.start, p.words, p.talk_time_s) for p in customer.talk_speed] == [(10.0, 6, 3.0)]


def _envelope(*levels: tuple[float, float, float], duration_s: float = 10.0, channels: int = 1) -> LoudnessEnvelope:
    """Frames at -90 LUFS (room noise) but for (start, end, lufs) stretches, the same on every channel."""
    frames = np.full(int(duration_s / FRAME_S), -90.0, dtype=np.float32)
    for start, end, lufs in levels:
        frames[int(round(start / FRAME_S)) : int(round(end / FRAME_S))] = lufs
    return LoudnessEnvelope(frame_s=FRAME_S, frames_lufs=np.stack([frames] * channels))


def test_loudness_per_speaker_and_per_utterance_leaves_overtalk_out_on_a_mono_call(analyzer):
    agent = make_utterance("A", "one two three four five six", 0.0, word_s=0.5, gap_s=0.0)  # 0-3 s
    customer = make_utterance("C", "one two three four", 2.0, word_s=0.5, gap_s=0.0)  # 2-4 s, overlaps 2-3 s
    later = make_utterance("A", "one two three four", 5.0, word_s=0.5, gap_s=0.0)  # 5-7 s
    # The agent speaks at -26 LUFS, then -20; the customer at -16; both at once sum to -12.
    envelope = _envelope((0.0, 2.0, -26.0), (2.0, 3.0, -12.0), (3.0, 4.0, -16.0), (5.0, 7.0, -20.0))
    q = analyzer.measure([agent, customer, later], ROLES, duration_s=10.0, loudness=envelope)
    by = {s.speaker: s for s in q.speakers}
    assert [(p.start, p.end, p.lufs) for p in by["A"].loudness] == [(0.0, 3.0, -26.0), (5.0, 7.0, -20.0)]
    assert by["C"].loudness_lufs == pytest.approx(-16.0, abs=0.01)
    # Gated energy mean of 2 s at -26 and 2 s at -20 (both above the relative gate).
    expected = 10 * np.log10((10 ** (-2.6) + 10 ** (-2.0)) / 2)
    assert by["A"].loudness_lufs == pytest.approx(expected, abs=0.01)
    assert analyzer.measure([agent], ROLES, duration_s=10.0).speakers[0].loudness_lufs is None


def test_loudness_reads_each_party_on_its_own_channel(analyzer):
    agent = replace(make_utterance("A", "one two three four", 0.0, word_s=0.5, gap_s=0.0), channel=0)
    customer = replace(make_utterance("C", "one two three four", 1.0, word_s=0.5, gap_s=0.0), channel=1)
    frames = np.full((2, 50), -90.0, dtype=np.float32)
    frames[0, 0:20], frames[1, 10:30], frames[1, 0:10] = -22.0, -30.0, -40.0  # channel 1 also has bleed early on
    q = analyzer.measure([agent, customer], ROLES, duration_s=5.0, loudness=LoudnessEnvelope(FRAME_S, frames))
    by = {s.speaker: s.loudness_lufs for s in q.speakers}
    # Overtalk (1-2 s) stays in on a dual call: each channel holds its own party.
    assert by == {"A": pytest.approx(-22.0, abs=0.01), "C": pytest.approx(-30.0, abs=0.01)}


def test_integrated_loudness_follows_bs1770_gating():
    frames = np.array([-20.0] * 10 + [-45.0] * 10 + [-100.0] * 10, dtype=np.float32)
    # Whole 400 ms blocks of the -45 LUFS stretch are more than 10 LU under the rest: gated out, as
    # is the -100 stretch; only the blocks that straddle -20 and -45 pull the figure down a little.
    assert -21.0 < integrated_lufs(frames, FRAME_S, [(0.0, 3.0)]) < -20.0
    assert integrated_lufs(frames, FRAME_S, [(0.0, 1.0)]) == pytest.approx(-20.0, abs=0.01)
    assert integrated_lufs(frames, FRAME_S, [(1.0, 2.0)]) == pytest.approx(-45.0, abs=0.01)
    assert integrated_lufs(frames, FRAME_S, [(2.0, 3.0)]) is None  # below the absolute gate
    assert integrated_lufs(frames, FRAME_S, [(0.52, 0.56)]) == pytest.approx(-20.0)  # shorter than a frame


def test_the_envelope_integrates_to_what_pyloudnorm_measures_on_the_whole_signal():
    import pyloudnorm

    rate, rng = 16_000, np.random.default_rng(7)
    # Noise bursts at three levels with silence between: the gates have something to do.
    parts = [rng.standard_normal(rate * 2) * gain for gain in (0.1, 0.0, 0.02, 0.3, 0.0001)]
    signal = np.concatenate(parts)
    envelope = measure_envelope([signal.astype(np.float32)], rate)
    assert envelope.frames_lufs.shape == (1, 100)
    expected = pyloudnorm.Meter(rate).integrated_loudness(signal)
    assert integrated_lufs(envelope.channel(0), envelope.frame_s, [(0.0, 10.0)]) == pytest.approx(expected, abs=0.05)
