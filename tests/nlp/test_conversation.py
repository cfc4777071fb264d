"""The NLP step on real speech: an espeak-ng agent/customer dialogue recognised by the bundled
Whisper, speakers assigned from the dialogue's reference turns (an oracle standing in for
diarization, which tests/nlp/test_acceptance.py covers through the pipeline)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from callytics_ray.conversation import ConversationAnalyzer
from callytics_ray.result import CallAnalysis
from callytics_ray.settings import LLMOptions, LLMSettings, RedactionOptions
from callytics_ray.types import SpeakerRole, Utterance
from tests.synth import DOUBLE_CHARGE_CALL, build_dialogue

pytestmark = pytest.mark.models

CARD_DIGITS = re.compile(r"4111|1111|four one one one|one one one one", re.IGNORECASE)


@pytest.fixture(scope="module")
def recognised_call(tmp_path_factory, transcriber, session_settings):
    """(utterances, roles, duration_s, language) from real ASR on the double-charge dialogue."""
    from callytics_ray.audio import load_audio

    path = tmp_path_factory.mktemp("dialogue") / "double_charge.wav"
    reference = build_dialogue(DOUBLE_CHARGE_CALL, path)
    audio = load_audio(path, session_settings.audio)
    transcript = transcriber.transcribe(audio, session_settings.asr.options.model_copy(update={"language": "en"}))
    labels = {"agent": "SPEAKER_00", "customer": "SPEAKER_01"}
    runs: list[list] = []
    for word in transcript.words:
        middle = (word.start + word.end) / 2
        turn = min(reference, key=lambda t: 0 if t.start <= middle <= t.end else min(abs(middle - t.start), abs(middle - t.end)))
        speaker = labels[turn.speaker]
        if runs and runs[-1][0] == speaker:
            runs[-1][1].append(word)
        else:
            runs.append([speaker, [word]])
    utterances = [
        Utterance(ws[0].start, ws[-1].end, spk, "".join(w.text for w in ws).strip(), tuple(ws)) for spk, ws in runs
    ]
    roles = [SpeakerRole("SPEAKER_00", "agent", 1.0, 0.0), SpeakerRole("SPEAKER_01", "customer", 1.0, 0.0)]
    return utterances, roles, audio.duration_s, transcript.language


@pytest.fixture(scope="module")
def conversation(session_settings) -> ConversationAnalyzer:
    return ConversationAnalyzer.from_settings(session_settings)


def _check_call(call: CallAnalysis) -> None:
    assert {s.speaker for s in call.speakers or []} | {s.speaker for s in call.segments} == {"SPEAKER_00", "SPEAKER_01"}
    customer = next(s for s in call.sentiment.speakers if s.role == "customer")
    assert customer.trajectory[0].label == "negative"
    assert call.segments[1].role == "customer" and call.segments[1].sentiment.label == "negative"
    assert call.quality.talk_share_by_role["agent"] > 0.5
    assert call.quality.speakers[0].politeness_markers
    assert [r.type for r in call.redactions] == ["card"]
    stored = call.to_json()
    assert not CARD_DIGITS.search(stored), "card digits reached the stored JSON"
    card = call.redactions[0]
    assert call.segments[card.segment].text[card.start : card.end] == "[CARD]"
    assert card.start_s is not None and card.end_s > card.start_s


def test_offline_analysis_of_recognised_speech(recognised_call, conversation, session_settings):
    utterances, roles, duration_s, language = recognised_call
    assert language == "en"
    assert CARD_DIGITS.search(" ".join(u.text for u in utterances)), "Whisper did not hear the card number"
    settings = session_settings.model_copy(update={"redaction": RedactionOptions(before_storage=True)})
    result = conversation.analyze(utterances, roles, language=language, duration_s=duration_s, settings=settings)
    call = CallAnalysis(call_id="offline")
    result.apply_to(call)
    _check_call(call)
    assert call.analysis.analyzer == "offline"
    assert re.search(r"charged twice|double charge|duplicate charge", call.analysis.summary, re.I)
    assert any("charge" in t for t in call.analysis.topics)
    assert call.models["analysis"] == "offline:centrality"
    assert {"punctuation", "redaction", "sentiment", "quality", "analysis"} <= call.timings.keys()


def test_llm_analysis_of_recognised_speech(recognised_call, conversation, session_settings, llm_server):
    utterances, roles, duration_s, language = recognised_call
    settings = session_settings.model_copy(update={
        "llm": LLMSettings(base_url=llm_server.base_url, model="local-model",
                           options=LLMOptions(timeout_s=10, backoff_initial_s=0.01)),
        "redaction": RedactionOptions(before_storage=True),
    })
    llm_conversation = ConversationAnalyzer(
        settings, punctuator=conversation.punctuator, classifier=conversation.classifier,
        quality=conversation.quality, analyzer=type(conversation.analyzer).from_settings(settings),
    )
    result = llm_conversation.analyze(utterances, roles, language=language, duration_s=duration_s)
    call = CallAnalysis(call_id="llm")
    result.apply_to(call)
    _check_call(call)
    assert call.analysis.analyzer == "llm" and call.analysis.model == "local-model"
    assert call.errors is None
    assert re.search(r"charged twice|double charge|duplicate charge", call.analysis.summary, re.I)
    assert any("charge" in t for t in call.analysis.topics)
    assert all(r.agrees for r in call.analysis.roles)
    sent = json.dumps([r["body"] for r in llm_server.requests])
    assert "[CARD]" in sent and not CARD_DIGITS.search(sent)


def test_storage_keeps_text_when_redaction_before_storage_is_off(recognised_call, conversation):
    utterances, roles, duration_s, language = recognised_call
    result = conversation.analyze(utterances, roles, language=language, duration_s=duration_s)
    call = CallAnalysis(call_id="plain")
    result.apply_to(call)
    card = call.redactions[0]
    assert CARD_DIGITS.search(call.segments[card.segment].text[card.start : card.end])
