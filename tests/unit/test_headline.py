"""Headline facts and flags read off an analysis (callytics_ray.headline)."""

from __future__ import annotations

from callytics_ray.headline import CallFlag, headline
from callytics_ray.result import (
    AnalysisResult,
    CallAnalysis,
    CallSentimentResult,
    ConflictResult,
    QualityResult,
    RedactionResult,
    SpeakerQualityResult,
    SpeakerSentimentResult,
)


def _quality(longest_silence_s: float, interruptions: tuple[int, int]) -> QualityResult:
    agents = [SpeakerQualityResult(speaker=f"A{i}", role="agent", talk_time_s=t, talk_share=0.3, words=10,
                                   speaking_rate_wpm=rate, interruptions_made=n)
              for i, (t, rate, n) in enumerate(((30.0, 150.0, interruptions[0]), (10.0, 190.0, interruptions[1])))]
    return QualityResult(duration_s=100, talk_share_by_role={"agent": 0.6, "customer": 0.4}, silence_ratio=0.1,
                         longest_silence_s=longest_silence_s, overtalk_s=0, overtalk_ratio=0, speakers=agents)


def test_an_empty_analysis_has_no_facts_and_no_flags():
    facts = headline(CallAnalysis(call_id="c"))
    assert facts.agent_talk_share is None and facts.agent_interruptions is None
    assert facts.agent_speaking_rate_wpm is None and facts.flags == ()


def test_agent_figures_combine_every_agent_speaker():
    facts = headline(CallAnalysis(call_id="c", quality=_quality(3.0, (1, 1))))
    assert facts.agent_talk_share == 0.6
    assert facts.agent_interruptions == 2
    assert facts.agent_speaking_rate_wpm == (150.0 * 30 + 190.0 * 10) / 40  # weighted by talk time
    assert facts.flags == ()


def test_each_flag_and_its_threshold():
    at_threshold = headline(CallAnalysis(call_id="c", quality=_quality(10.0, (2, 1))))
    assert at_threshold.flags == (CallFlag.LONG_SILENCE, CallFlag.INTERRUPTIONS)
    below = headline(CallAnalysis(call_id="c", quality=_quality(9.9, (1, 1))))
    assert below.flags == ()
    everything = CallAnalysis(
        call_id="c",
        analysis=AnalysisResult(summary="s", conflict=ConflictResult(flag=True), resolved=False,
                                analyzer="offline", model="rules"),
        sentiment=CallSentimentResult(label="negative", score=-0.5, method="m", speakers=[
            SpeakerSentimentResult(speaker="B", role="customer", label="negative", score=-0.6),
            SpeakerSentimentResult(speaker="A", role="agent", label="positive", score=0.4)]),
        redactions=[RedactionResult(type="card", segment=0, start=0, end=4)],
        errors={"llm-analyzer": "endpoint down"},
    )
    assert [f.value for f in headline(everything).flags] == [
        "conflict", "negative_customer", "unresolved", "pii", "stage_error"]
    # An agent's negative sentiment is not a negative customer.
    agent_only = everything.model_copy(update={"sentiment": CallSentimentResult(
        label="negative", score=-0.5, method="m",
        speakers=[SpeakerSentimentResult(speaker="A", role="agent", label="negative", score=-0.6)])})
    assert CallFlag.NEGATIVE_CUSTOMER not in headline(agent_only).flags
