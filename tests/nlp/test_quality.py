"""Communication-quality metrics on hand-timed utterances."""

from __future__ import annotations

import pytest

from callytics_ray.quality import QualityAnalyzer, merge_intervals, overlap_intervals
from callytics_ray.settings import QualityOptions
from callytics_ray.types import SpeakerRole, SpeakerTurn, Utterance, Word
from tests.nlp.conftest import double_charge_utterances, make_utterance

ROLES = [SpeakerRole("A", "agent", 0.9, 0.0), SpeakerRole("C", "customer", 0.9, 0.0)]


@pytest.fixture(scope="module")
def analyzer() -> QualityAnalyzer:
    return QualityAnalyzer()


def test_merge_and_overlap_intervals():
    assert merge_intervals([(0, 1), (1.1, 2), (5, 6)], gap_s=0.2) == [(0, 2), (5, 6)]
    assert overlap_intervals({"a": [(0, 4)], "b": [(3, 6)], "c": [(10, 11)]}, 0.1) == [(3, 4)]
    assert overlap_intervals({"a": [(0, 4)], "b": [(3.95, 6)]}, 0.1) == []


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
