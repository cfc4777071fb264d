"""The call page's view (no browser): parties and colours, redactions masked in text and words,
chart data, downloads, retry."""

from __future__ import annotations

import typing
from datetime import datetime, timezone

from callytics_ray.api.console.call_charts import quality_charts, sentiment_chart
from callytics_ray.api.console.call_view import call_page
from callytics_ray.api.console.transcript_view import (
    MASK_GLYPHS, PII_NAMES, Speakers, masked_pieces, show_masks, transcript_lines,
)
from callytics_ray.api.schemas import CallView
from callytics_ray.export import FORMATS, MEDIA_TYPES
from callytics_ray.result import (
    CallAnalysis, CallSentimentResult, LoudnessPoint, NonTalkInstance, PiiType, QualityResult, RedactionResult, ResponseLatencyResult, SegmentResult,
    SpeakerQualityResult, SpeakerSentimentResult, TalkSpeedPoint, TrajectoryPoint, WordResult,
)
from callytics_ray.storage import StageState
from callytics_ray.storage.keys import ApiKeyRecord

NOW = datetime(2025, 1, 2, 3, 4, tzinfo=timezone.utc)


def _words(text: str, start: float = 0.0) -> list[WordResult]:
    return [WordResult(start=start + i, end=start + i + 0.8, text=(" " if i else "") + w, probability=0.9)
            for i, w in enumerate(text.split())]


def _span(text: str, hidden: str, kind: PiiType = "phone", segment: int = 0) -> RedactionResult:
    at = text.index(hidden)
    return RedactionResult(type=kind, segment=segment, start=at, end=at + len(hidden))


def _shown(pieces) -> str:
    return " ".join(p.text for p in pieces)


def test_every_pii_type_has_a_name():
    assert set(PII_NAMES) == set(typing.get_args(PiiType))


def test_a_word_inside_a_span_is_masked_when_the_stored_text_was_not_redacted():
    text = "Yes, my phone number is 555 123 4567 thanks."
    segment = SegmentResult(start=0, end=9, text=text, words=_words(text))
    pieces, word_by_word = masked_pieces(segment, [_span(text, "555 123 4567")])
    assert word_by_word
    assert not any(ch.isdigit() for ch in _shown(pieces))
    masks = [p for p in pieces if p.redacted]
    # Three words of one span: one mask, from the first one's start to the last one's end.
    assert [(m.redacted, m.start, m.end) for m in masks] == [("phone", 5.0, 7.8)]
    assert [p.text for p in pieces if not p.redacted] == ["Yes,", "my", "phone", "number", "is", "thanks."]


def test_a_mask_stored_in_the_text_is_shown_as_a_mask():
    text = "my card is [CARD] thanks"
    segment = SegmentResult(start=0, end=5, text=text, words=_words(text))
    pieces, word_by_word = masked_pieces(segment, [_span(text, "[CARD]", "card")])
    assert word_by_word and [p.redacted for p in pieces] == [None, None, None, "card", None]
    assert "[CARD]" not in _shown(pieces)


def test_a_word_that_cannot_be_placed_falls_back_to_the_masked_text():
    text = "call me at 5551234567"
    words = _words("call me at five five five")  # the words were not rewritten like the text
    pieces, word_by_word = masked_pieces(SegmentResult(start=0, end=5, text=text, words=words),
                                         [_span(text, "5551234567")])
    assert not word_by_word
    assert [(p.text, p.redacted) for p in pieces] == [("call me at ", None), ("", "phone")]


def test_text_without_words_is_masked_by_its_spans():
    text = "card 4111 1111 and mail a@b.co ok"
    spans = [_span(text, "a@b.co", "email"), _span(text, "4111 1111", "card"), _span(text, "1111 and", "card")]
    pieces, word_by_word = masked_pieces(SegmentResult(start=0, end=5, text=text), spans)
    assert not word_by_word
    # Overlapping spans are one mask; out-of-order spans are sorted.
    assert [(p.text, p.redacted) for p in pieces] == [
        ("card ", None), ("", "card"), (" mail ", None), ("", "email"), (" ok", None)]


def test_transcript_lines_take_each_segments_own_spans():
    texts = ["my number is 12345678", "no digits here"]
    analysis = CallAnalysis(call_id="c", segments=[
        SegmentResult(start=0, end=4, text=texts[0], words=_words(texts[0]), speaker="S0", role="agent"),
        SegmentResult(start=5, end=8, text=texts[1], words=_words(texts[1], 5), speaker="S1", role="customer"),
    ], redactions=[_span(texts[0], "12345678", "number_sequence", segment=0)])
    lines = transcript_lines(analysis, Speakers(analysis))
    assert [line.speaker.colour for line in lines] == [0, 1]
    assert _shown(lines[0].pieces) == "my number is " and lines[0].pieces[-1].redacted == "number_sequence"
    assert _shown(lines[1].pieces) == "no digits here"


def test_show_masks_escapes_and_styles_masks():
    html = str(show_masks("<b>Yes</b> it is [NUMBER] and [CARD]."))
    assert html.startswith("&lt;b&gt;Yes&lt;/b&gt; it is <span class=\"redacted\" data-pii=\"number_sequence\"")
    assert "[NUMBER]" not in html and "[CARD]" not in html
    assert html.count(MASK_GLYPHS) == 2 and 'title="card number redacted"' in html


def _analysis() -> CallAnalysis:
    traj = [TrajectoryPoint(start=0, end=4, score=-0.5, label="negative"),
            TrajectoryPoint(start=4, end=10, score=0.25, label="positive")]
    return CallAnalysis(
        call_id="c",
        segments=[SegmentResult(start=1, end=4, text="hello", speaker="A", role="agent"),
                  SegmentResult(start=5, end=7, text="hi", speaker="B", role="customer"),
                  SegmentResult(start=8, end=9.5, text="bye", speaker="A", role="agent")],
        sentiment=CallSentimentResult(label="neutral", score=0, method="m", trajectory=traj, speakers=[
            SpeakerSentimentResult(speaker="B", role="customer", label="neutral", score=0, trajectory=traj),
            SpeakerSentimentResult(speaker="A", role="agent", label="neutral", score=0, trajectory=traj[:1])]),
        quality=QualityResult(
            duration_s=10, talk_share_by_role={"agent": 0.45, "customer": 0.2}, silence_ratio=0.35,
            longest_silence_s=1.5, overtalk_s=0.4, overtalk_ratio=0.04,
            response_latency=[ResponseLatencyResult(from_speaker="A", to_speaker="B", count=2, mean_s=0.6,
                                                    median_s=0.5, max_s=0.9)],
            speakers=[SpeakerQualityResult(speaker="A", role="agent", talk_time_s=4.5, talk_share=0.45, words=20,
                                           speaking_rate_wpm=150, interruptions_made=1),
                      SpeakerQualityResult(speaker="B", role="customer", talk_time_s=2, talk_share=0.2, words=8,
                                           speaking_rate_wpm=120, interruptions_made=0)]),
    )


def test_sentiment_has_one_line_per_party_in_its_colour_at_window_middles():
    analysis = _analysis()
    chart = sentiment_chart(analysis.sentiment, Speakers(analysis), 10.0)
    spec = chart.spec.as_json()
    assert [(s["label"], s["color"], s["points"]) for s in spec["series"]] == [
        ("Customer (B)", "--spk1", [(2.0, -0.5), (7.0, 0.25)]), ("Agent (A)", "--spk0", [(2.0, -0.5)])]
    assert spec["x"] == {"min": 0, "max": 10.0, "label": "seconds", "tickAlign": "inner"}
    assert spec["y"]["width"] == 44 and "Customer (B) -0.50 at 2 s to +0.25 at 7 s" in chart.alt


def test_quality_charts_carry_their_numbers_in_words():
    analysis = _analysis()
    charts = {c.id: c for c in quality_charts(analysis.quality, Speakers(analysis))}
    assert list(charts) == ["quality-talk-share", "quality-silence", "quality-interruptions", "quality-rate",
                            "quality-latency"]
    share = charts["quality-talk-share"].spec.as_json()
    assert share["labels"] == ["Agent", "Customer", "Silence"]  # the roles name the parties here
    assert share["series"][0]["values"] == [45.0, 20.0, 35.0]
    assert share["series"][0]["colors"] == ["--spk0", "--spk1", "--neu"]
    assert charts["quality-talk-share"].alt == "Agent (A) 45%, Customer (B) 20%, Silence 35% of the call."
    assert "the longest 1.5 s" in charts["quality-silence"].alt
    assert charts["quality-interruptions"].alt == "Agent (A) interrupted 1 time; Customer (B) interrupted 0 times."
    assert charts["quality-interruptions"].spec.as_json()["y"]["step"] == 1
    assert "150 words per minute" in charts["quality-rate"].alt
    latency = charts["quality-latency"]
    assert [s["label"] for s in latency.spec.as_json()["series"]] == ["mean", "median", "max"]
    assert latency.alt == "Agent (A) to Customer (B): mean 0.60 s, median 0.50 s, max 0.90 s over 2 replies."


def test_loudness_and_talk_speed_draw_one_line_per_party_over_the_call():
    analysis = _analysis()
    quality = analysis.quality
    agent, customer = quality.speakers
    analysis.quality = quality.model_copy(update={
        "non_talk_time_s": 3.2, "non_talk_ratio": 0.32, "non_talk": [NonTalkInstance(start=0, end=3.2, duration_s=3.2)],
        "speakers": [
            agent.model_copy(update={"loudness_lufs": -24.1, "loudness": [LoudnessPoint(start=1, end=4, lufs=-23.9),
                                                                          LoudnessPoint(start=8, end=9.5, lufs=-25.0)],
                                     "talk_speed": [TalkSpeedPoint(start=0, end=5, words=8, talk_time_s=3, wpm=160.0),
                                                    TalkSpeedPoint(start=5, end=10, words=12, talk_time_s=1.5, wpm=480.0)]}),
            customer.model_copy(update={"loudness_lufs": -14.0, "loudness": [LoudnessPoint(start=5, end=7, lufs=-14.0)],
                                        "talk_speed": [TalkSpeedPoint(start=5, end=10, words=8, talk_time_s=2, wpm=240.0)]}),
        ]})
    charts = {c.id: c for c in quality_charts(analysis.quality, Speakers(analysis))}
    assert list(charts)[-2:] == ["quality-talk-speed", "quality-loudness"]
    loud = charts["quality-loudness"]
    assert loud.kind == "line" and loud.spec.as_json()["x"] == {"min": 0, "max": 10.0, "label": "seconds"}
    assert [(s["label"], s["color"], s["points"]) for s in loud.spec.as_json()["series"]] == [
        ("Agent (A)", "--spk0", [(2.5, -23.9), (8.75, -25.0)]), ("Customer (B)", "--spk1", [(6.0, -14.0)])]
    assert loud.alt == ("Agent (A) -24.1 LUFS, utterances from -25.0 to -23.9; "
                        "Customer (B) -14.0 LUFS, utterances from -14.0 to -14.0.")
    speed = charts["quality-talk-speed"]
    assert [s["points"] for s in speed.spec.as_json()["series"]] == [[(2.5, 160.0), (7.5, 480.0)], [(7.5, 240.0)]]
    assert speed.alt == "Agent (A) from 160 to 480 words per minute; Customer (B) from 240 to 240 words per minute."
    silence = charts["quality-silence"]
    assert silence.spec.as_json()["labels"] == ["Longest silence", "Overtalk", "Non-talk"]
    assert "non-talk time 3.2 s (32% of the call) in 1 stretch." in silence.alt


def _view(status: str, result: CallAnalysis | None, flags: list[str] = ()) -> CallView:
    return CallView(id="call-1", tenant="t", created_at=NOW, updated_at=NOW, status=status, duration_s=10.0,
                    flags=list(flags), result=result,
                    stages=[StageState(stage="audio", status="done", attempts=1, seconds=0.5),
                            StageState(stage="asr", status="failed", attempts=3, seconds=2.0, error="boom")])


def _key(*scopes: str) -> ApiKeyRecord:
    return ApiKeyRecord(id=1, prefix="p", tenant="t", scopes=scopes)


def test_the_page_lanes_downloads_flags_and_retry():
    page = call_page(_view("partial", _analysis(), ["conflict", "something_new"]), _key("read", "submit"))
    assert [(lane.speaker.key, [(t.left_pct, t.width_pct) for t in lane.turns]) for lane in page.lanes] == [
        ("A", [(10.0, 30.0), (80.0, 15.0)]), ("B", [(50.0, 20.0)])]
    assert [(f.value, f.name) for f in page.flags] == [("conflict", "Conflict"), ("something_new", "something new")]
    assert [(s.stage, s.share) for s in page.stages] == [("audio", 0.25), ("asr", 1.0)]
    assert page.stages_done == 1 and page.stages_seconds == 0.5
    links = {d.href: d.media_type for d in page.downloads}
    assert {f"/v1/calls/call-1/transcript?format={f}": MEDIA_TYPES[f] for f in FORMATS}.items() <= links.items()
    assert "/v1/calls/call-1" in links and "/v1/calls/call-1/audio" in links
    assert page.can_retry and not page.running
    assert not call_page(_view("partial", _analysis()), _key("read")).can_retry  # no submit scope


def test_a_running_call_without_a_result_has_no_transcript_downloads():
    page = call_page(_view("processing", None), _key("read", "submit"))
    assert page.running and not page.can_retry and not page.lanes and page.sentiment is None
    assert [d.href for d in page.downloads] == ["/v1/calls/call-1", "/v1/calls/call-1/audio"]
