"""The conversation stages on real speech, through the pipeline: an espeak-ng agent/customer
dialogue recognised by the bundled Whisper, with the dialogue's reference turns standing in for
diarization (an oracle), so these checks isolate punctuation, redaction, sentiment, quality and the
analysis from diarization quality (tests/nlp/test_acceptance.py runs the real diarizer)."""

from __future__ import annotations

import asyncio
import json
import re
import uuid

import pytest

from callytics_ray.llm import CallAnalyzer
from callytics_ray.pipeline import CallRequest, LocalStages, run_call
from callytics_ray.result import CallAnalysis
from callytics_ray.settings import LLMOptions, LLMSettings, RedactionOptions
from callytics_ray.types import SpeakerTurn
from tests.synth import DOUBLE_CHARGE_CALL, build_dialogue

pytestmark = pytest.mark.models

CARD_DIGITS = re.compile(r"4111|1111|four one one one|one one one one", re.IGNORECASE)


class OracleDiarization(LocalStages):
    """The real in-process stages, except that diarization returns the reference turns."""

    def __init__(self, settings, turns, **loaded):
        super().__init__(settings, **loaded)
        self.turns = turns

    async def diarize(self, audio, min_speakers, max_speakers):
        return list(self.turns)


@pytest.fixture(scope="module")
def dialogue(tmp_path_factory):
    path = tmp_path_factory.mktemp("dialogue") / "double_charge.wav"
    reference = build_dialogue(DOUBLE_CHARGE_CALL, path)
    labels = {"agent": "SPEAKER_00", "customer": "SPEAKER_01"}
    return path, [SpeakerTurn(t.start, t.end, labels[t.speaker]) for t in reference]


@pytest.fixture(scope="module")
def shared_models(local_stages):
    """Models loaded once for the module, handed to each test's backend."""
    return {
        "transcriber": local_stages.transcriber,
        "punctuator": local_stages.punctuator,
        "classifier": local_stages.classifier,
    }


def analyse(settings, dialogue, shared_models, **extra) -> CallAnalysis:
    path, turns = dialogue
    backend = OracleDiarization(settings, turns, **shared_models, **extra)
    request = CallRequest(call_id=str(uuid.uuid4()), source=path, name=path.name, language="en")
    return asyncio.run(run_call(request, backend, settings=settings))


def _check_call(call: CallAnalysis) -> None:
    assert {s.speaker for s in call.speakers} == {"SPEAKER_00", "SPEAKER_01"}
    assert {s.speaker: s.role for s in call.speakers} == {"SPEAKER_00": "agent", "SPEAKER_01": "customer"}
    customer = next(s for s in call.sentiment.speakers if s.role == "customer")
    assert customer.trajectory[0].label == "negative"
    # Utterances end at sentence ends: the agent's greeting is two, then the upset customer speaks.
    first_customer = next(s for s in call.segments if s.role == "customer")
    assert first_customer.sentiment.label == "negative"
    assert [s.role for s in call.segments[:2]] == ["agent", "agent"]
    assert call.quality.talk_share_by_role["agent"] > 0.5
    assert call.quality.speakers[0].politeness_markers
    assert [r.type for r in call.redactions] == ["card"]
    card = call.redactions[0]
    assert card.start_s is not None and card.end_s > card.start_s


def test_offline_analysis_of_recognised_speech(settings, dialogue, shared_models):
    settings = settings.model_copy(update={"redaction": RedactionOptions(before_storage=True)})
    call = analyse(settings, dialogue, shared_models)
    assert call.errors is None, call.errors
    _check_call(call)
    assert not CARD_DIGITS.search(call.to_json()), "card digits reached the stored JSON"
    card = call.redactions[0]
    assert call.segments[card.segment].text[card.start : card.end] == "[CARD]"
    assert call.analysis.analyzer == "offline"
    assert re.search(r"charged twice|double charge|duplicate charge", call.analysis.summary, re.I)
    assert any("charge" in t for t in call.analysis.topics)
    assert call.analysis.model == "offline:centrality"
    assert {"punctuation", "redaction", "sentiment", "quality", "llm"} <= call.timings.keys()
    assert call.models["sentiment"] and call.models["punctuation"]


def test_llm_analysis_of_recognised_speech(settings, dialogue, shared_models, llm_server):
    settings = settings.model_copy(update={
        "llm": LLMSettings(base_url=llm_server.base_url, model="local-model",
                           options=LLMOptions(timeout_s=10, backoff_initial_s=0.01)),
        "redaction": RedactionOptions(before_storage=True),
    })
    call = analyse(settings, dialogue, shared_models, analyzer=CallAnalyzer.from_settings(settings))
    _check_call(call)
    assert call.analysis.analyzer == "llm" and call.analysis.model == "local-model"
    assert call.errors is None
    assert re.search(r"charged twice|double charge|duplicate charge", call.analysis.summary, re.I)
    assert any("charge" in t for t in call.analysis.topics)
    assert all(r.agrees for r in call.analysis.roles)
    sent = json.dumps([r["body"] for r in llm_server.requests])
    assert "[CARD]" in sent and not CARD_DIGITS.search(sent)


def test_llm_down_leaves_a_partial_call_with_the_offline_analysis(settings, dialogue, shared_models, llm_server):
    llm_server.reset(*["http500"] * 20)
    settings = settings.model_copy(update={
        "llm": LLMSettings(base_url=llm_server.base_url, model="local-model",
                           options=LLMOptions(timeout_s=5, max_retries=1, backoff_initial_s=0.01)),
    })
    call = analyse(settings, dialogue, shared_models, analyzer=CallAnalyzer.from_settings(settings))
    assert "500" in call.errors["llm"]
    assert call.analysis.analyzer == "offline" and call.analysis.summary
    assert call.sentiment is not None and call.quality is not None


def test_stored_text_keeps_the_card_when_redaction_before_storage_is_off(settings, dialogue, shared_models):
    settings = settings.model_copy(update={"redaction": RedactionOptions(before_storage=False)})
    call = analyse(settings, dialogue, shared_models)
    card = call.redactions[0]
    assert CARD_DIGITS.search(call.segments[card.segment].text[card.start : card.end])


def test_role_override_per_request_wins(settings, dialogue, shared_models):
    path, turns = dialogue
    backend = OracleDiarization(settings, turns, **shared_models)
    request = CallRequest(call_id="override", source=path, name=path.name, language="en",
                          roles={"SPEAKER_00": "customer", "SPEAKER_01": "agent"})
    call = asyncio.run(run_call(request, backend, settings=settings))
    assert {s.speaker: s.role for s in call.speakers} == {"SPEAKER_00": "customer", "SPEAKER_01": "agent"}
