"""The LLM analyzer with the real `openai` client against a real local chat-completions server,
and the offline analyzer."""

from __future__ import annotations

import json
import time

import pytest

from callytics_ray.errors import ConfigError, LLMError
from callytics_ray.llm import CallAnalyzer, LLMAnalyzer, OfflineAnalyzer, analysis_json_schema, estimate_tokens
from callytics_ray.llm.prompt import SYSTEM_PROMPT, chunk_lines
from callytics_ray.roles import RoleJudgement
from callytics_ray.settings import LLMOptions, LLMSettings, Settings
from callytics_ray.types import SpeakerRole
from tests.nlp.conftest import double_charge_utterances

FAST = LLMOptions(timeout_s=5.0, max_retries=2, backoff_initial_s=0.01, backoff_max_s=0.05)


@pytest.fixture()
def analyzer(llm_server) -> LLMAnalyzer:
    return LLMAnalyzer(base_url=llm_server.base_url, api_key="test-key", model="local-model")


def _sent_text(server) -> str:
    return "\n".join(m["content"] or "" for r in server.requests for m in r["body"]["messages"])


def test_schema_is_strict():
    schema = analysis_json_schema()
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {
        "summary", "topics", "reason", "outcome", "resolved", "satisfaction", "conflict", "action_items", "roles",
        "agent"}
    assert "title" not in json.dumps(schema)


def test_good_answer(analyzer, llm_server):
    utterances, roles = double_charge_utterances()
    result = analyzer.analyze(utterances, roles, options=FAST).result
    assert result.analyzer == "llm" and result.model == "local-model" and result.chunks == 1
    assert "charged twice" in result.summary
    assert {(r.speaker, r.role, r.agrees) for r in result.roles} == {
        ("SPEAKER_00", "agent", True), ("SPEAKER_01", "customer", True)}
    assert result.usage.requests == 1 and result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0
    request = llm_server.requests[0]
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer test-key"
    body = request["body"]
    assert body["model"] == "local-model"
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == analysis_json_schema()
    assert "(agent)" not in body["messages"][1]["content"]  # roles are confirmed, not copied


def test_the_llm_names_the_agent_with_a_reason_and_confidence(analyzer, llm_server):
    utterances, roles = double_charge_utterances()
    answer = analyzer.analyze(utterances, roles, options=FAST)
    assert answer.agent == RoleJudgement("SPEAKER_00", 0.9, "SPEAKER_00 greets and offers help")
    body = llm_server.requests[0]["body"]
    assert "agent" in body["response_format"]["json_schema"]["schema"]["required"]
    assert "who greets" in body["messages"][0]["content"]


def test_call_analyzer_passes_the_judgement_on_and_a_failed_llm_leaves_none(analyzer, llm_server):
    utterances, roles = double_charge_utterances()
    both = CallAnalyzer(offline=OfflineAnalyzer(), llm=analyzer)
    outcome = both.analyze(utterances, roles, options=FAST)
    assert outcome.result.analyzer == "llm" and outcome.role_judgement.agent == "SPEAKER_00"
    llm_server.reset("http500", "http500", "http500")
    failed = both.analyze(utterances, roles, options=FAST)
    assert failed.result.analyzer == "offline" and "HTTP 500" in failed.llm_error
    assert failed.role_judgement is None
    assert CallAnalyzer(offline=OfflineAnalyzer()).analyze(utterances, roles).role_judgement is None


def test_with_roles_rechecks_the_confirmations(analyzer):
    utterances, roles = double_charge_utterances()
    outcome = CallAnalyzer(offline=OfflineAnalyzer(), llm=analyzer).analyze(utterances, roles, options=FAST)
    assert all(c.agrees for c in outcome.result.roles)
    swapped = [SpeakerRole(r.speaker, "customer" if r.role == "agent" else "agent", r.confidence, r.talk_time_s)
               for r in roles]
    assert not any(c.agrees for c in outcome.with_roles(swapped).result.roles)
    assert outcome.with_roles(swapped).role_judgement == outcome.role_judgement


def test_card_number_never_reaches_the_endpoint(analyzer, llm_server):
    utterances, roles = double_charge_utterances()
    assert "four one one one" in " ".join(u.text for u in utterances)
    analyzer.analyze(utterances, roles, options=FAST)
    sent = _sent_text(llm_server)
    assert "[CARD]" in sent
    assert "four one one one" not in sent and "one one one one" not in sent


def test_tool_call_mode(analyzer, llm_server):
    utterances, roles = double_charge_utterances()
    result = analyzer.analyze(utterances, roles, options=FAST.model_copy(update={"structured_output": "tool"})).result
    body = llm_server.requests[0]["body"]
    assert body["tool_choice"]["function"]["name"] == body["tools"][0]["function"]["name"]
    assert "response_format" not in body
    assert "charged twice" in result.summary


def test_malformed_then_good_is_retried_with_the_error_shown(analyzer, llm_server):
    llm_server.reset("malformed", "good")
    utterances, roles = double_charge_utterances()
    result = analyzer.analyze(utterances, roles, options=FAST).result
    assert result.usage.requests == 2
    repair = llm_server.requests[1]["body"]["messages"]
    assert repair[2]["role"] == "assistant" and "not valid" in repair[3]["content"]


def test_always_malformed_is_a_recorded_failure(analyzer, llm_server):
    llm_server.reset("malformed", "wrong_schema", "malformed")
    utterances, roles = double_charge_utterances()
    with pytest.raises(LLMError, match="failed after 3 attempt.*does not match the schema") as info:
        analyzer.analyze(utterances, roles, options=FAST)
    assert info.value.stage == "llm"
    assert len(llm_server.requests) == 3


def test_http_500_then_good(analyzer, llm_server):
    llm_server.reset("http500", "good")
    utterances, roles = double_charge_utterances()
    result = analyzer.analyze(utterances, roles, options=FAST).result
    assert result.usage.requests == 2 and len(llm_server.requests) == 2


def test_always_http_500_names_the_status(analyzer, llm_server):
    llm_server.reset("http500", "http500", "http500")
    utterances, roles = double_charge_utterances()
    with pytest.raises(LLMError, match="HTTP 500"):
        analyzer.analyze(utterances, roles, options=FAST)


def test_timeout_then_good(analyzer, llm_server):
    llm_server.reset("slow", "good")
    llm_server.slow_s = 2.0
    utterances, roles = double_charge_utterances()
    started = time.monotonic()
    result = analyzer.analyze(utterances, roles, options=FAST.model_copy(update={"timeout_s": 0.5})).result
    assert time.monotonic() - started < 2.0  # the client gave up on the slow answer
    assert result.usage.requests == 2


def test_timeouts_exhaust_retries(analyzer, llm_server):
    llm_server.reset("slow", "slow")
    llm_server.slow_s = 1.5
    utterances, roles = double_charge_utterances()
    with pytest.raises(LLMError, match="timed out after 0.3 s"):
        analyzer.analyze(utterances, roles, options=FAST.model_copy(update={"timeout_s": 0.3, "max_retries": 1}))


def test_long_call_is_chunked_and_merged(analyzer, llm_server):
    utterances, roles = double_charge_utterances()
    framing = estimate_tokens(SYSTEM_PROMPT) + estimate_tokens(json.dumps(analysis_json_schema())) + 64
    options = FAST.model_copy(update={"token_budget": framing + 400})
    answer = analyzer.analyze(utterances * 4, roles, options=options)
    result = answer.result
    assert result.chunks > 1
    assert len(llm_server.requests) == result.chunks + 1  # one per chunk, one merge
    assert result.usage.requests == result.chunks + 1
    merge = llm_server.requests[-1]["body"]["messages"][1]["content"]
    assert merge.startswith("The call was too long") and "Part 2:" in merge
    assert "charged twice" in result.summary
    assert answer.agent.agent == "SPEAKER_00"  # the merge keeps the opening's judgement
    for request in llm_server.requests:
        sent = sum(estimate_tokens(m["content"]) for m in request["body"]["messages"])
        assert sent + estimate_tokens(json.dumps(analysis_json_schema())) <= options.token_budget


def test_chunking_keeps_every_line_and_cuts_overlong_ones():
    lines = [f"[00:{i:02d}] S: " + "word " * 30 for i in range(20)] + ["[01:00] S: " + "long " * 400]
    chunks = chunk_lines(lines, 200)
    assert all(sum(estimate_tokens(line) + 1 for line in c) <= 200 for c in chunks)
    assert " ".join(" ".join(c) for c in chunks).split() == " ".join(lines).split()


@pytest.mark.models
def test_unreachable_endpoint_falls_back_to_offline(session_settings):
    settings = session_settings.model_copy(update={"llm": LLMSettings(base_url="http://127.0.0.1:9/v1")})
    analyzer = CallAnalyzer.from_settings(settings)
    assert analyzer.uses_llm
    utterances, roles = double_charge_utterances()
    outcome = analyzer.analyze(utterances, roles, options=FAST.model_copy(update={"max_retries": 0}))
    assert outcome.result.analyzer == "offline"
    assert "cannot connect" in outcome.llm_error
    with pytest.raises(LLMError):
        analyzer.analyze(utterances, roles, options=FAST.model_copy(update={"max_retries": 0, "fallback_offline": False}))


def test_llm_settings_need_a_base_url():
    with pytest.raises(ConfigError, match="base_url"):
        LLMAnalyzer.from_settings(Settings(_env_file=None))


@pytest.mark.models
def test_offline_analyzer_on_the_double_charge_call(session_settings, sentiment_classifier):
    from callytics_ray.quality import QualityAnalyzer
    from callytics_ray.text.redaction import redact_utterances

    utterances, roles = double_charge_utterances()
    redacted = [r.utterance for r in redact_utterances(utterances)]
    sentiments = sentiment_classifier.classify([u.text for u in redacted])
    quality = QualityAnalyzer().measure(redacted, roles, duration_s=redacted[-1].end)
    outcome = CallAnalyzer.from_settings(session_settings).analyze(redacted, roles, sentiments, quality)
    result = outcome.result
    assert outcome.llm_error is None
    assert result.analyzer == "offline" and result.model == "offline:centrality"
    assert "charged twice" in result.summary and "refund" in result.summary
    assert "charge" in result.topics[0]
    assert "charged twice" in result.reason
    assert result.resolved is True and result.satisfaction >= 4
    assert result.conflict.flag is False
    assert any("refund" in item for item in result.action_items)
    assert all(r.agrees for r in result.roles) and len(result.roles) == 2


def test_offline_analyzer_flags_conflict():
    from callytics_ray.result import InterruptionResult, QualityResult
    from callytics_ray.sentiment import Sentiment
    from tests.nlp.conftest import make_utterance

    utterances = [
        make_utterance("A", "Thank you for calling, how can I help?", 0.0),
        make_utterance("C", "This is a damn joke, you people are useless.", 3.0),
        make_utterance("A", "Please let me explain the fee.", 6.0),
        make_utterance("C", "No, I am sick of your excuses.", 7.0),
    ]
    from callytics_ray.types import SpeakerRole

    roles = [SpeakerRole("A", "agent", 1, 0), SpeakerRole("C", "customer", 1, 0)]
    negative = Sentiment("negative", -0.9, (0.95, 0.05, 0.0))
    neutral = Sentiment("neutral", 0.0, (0.0, 1.0, 0.0))
    quality = QualityResult(
        duration_s=10, talk_share_by_role={}, silence_ratio=0, longest_silence_s=0, overtalk_s=1, overtalk_ratio=0.1,
        interruptions=[InterruptionResult(time=7.0, interrupter="C", interrupted="A", overlap_s=1.0)] * 2,
    )
    result = OfflineAnalyzer().analyze(utterances, roles, [neutral, negative, neutral, negative], quality)
    assert result.conflict.flag is True
    assert "This is a damn joke, you people are useless." in result.conflict.evidence
    assert any("interrupted" in e for e in result.conflict.evidence)
    assert result.satisfaction <= 2 and result.resolved is False
