"""Rubric `llm` items judged by an LLM over the OpenAI protocol (a real local server, tests/nlp/
llm_server.py, whose judge replies each test scripts) on the pipeline's stored analysis of a real
recording (bench/stored_calls.py): stereo_diarization.wav, agent on the left channel ("He began a
confused complaint against the wizard, who had vanished behind the curtain on the left."),
customer on the right ("The horizon seems extremely distant.").

Only a quote found in the utterance it names makes a pass or fail, and its seconds and words come
from the stored transcript; anything else is not assessed, with the reason."""

from __future__ import annotations

import socket

import pytest

from callytics_ray.analytics import Rubric, assess, score
from callytics_ray.backfill import BackfillRunner, ConfigSelector, ThreadChunkExecutor, resolve_spec
from callytics_ray.pipeline.assessment import item_judge
from bench.stored_calls import real_analysis, store_copies
from tests.nlp.conftest import chat_server, llm_server  # noqa: F401 (the server fixtures)
from tests.nlp.llm_server import quote_between, quoting_judge, with_llm
from tests.storage.test_store import store  # noqa: F401  (the SQLite / PostgreSQL store fixture)

COMPLAINT = ("pass", "wizard", quote_between("complaint", "wizard"))


@pytest.fixture(scope="module")
def real_call():
    return real_analysis()


def rubric(*questions: str) -> Rubric:
    return Rubric.model_validate({"name": "judged", "items": [
        {"id": f"q{n}", "description": q, "check": {"kind": "llm", "question": q}}
        for n, q in enumerate(questions, start=1)]})


def segment_with(analysis, word: str) -> int:
    return next(i for i, s in enumerate(analysis.segments) if word in s.text.lower())


def word(analysis, text: str):
    return next(w for s in analysis.segments for w in s.words if w.text.strip(" .,").lower() == text)


def test_a_pass_and_a_fail_carry_the_quoted_words_and_seconds_of_the_stored_transcript(
        real_call, settings, llm_server):
    llm_server.judge_reply = quoting_judge(COMPLAINT, ("fail", "horizon", lambda text: text))
    judge = item_judge(with_llm(settings, llm_server.base_url))
    card = score(rubric("Did the agent complain about the wizard?", "Did the customer say the horizon is near?"),
                 real_call, judge)

    assert len(llm_server.requests) == 1  # every llm item of the call in one request
    prompt = llm_server.requests[0]["body"]["messages"][1]["content"]
    agent_at = segment_with(real_call, "wizard")
    agent = real_call.segments[agent_at]
    assert f"{agent_at + 1}. [{agent.start:.1f}-{agent.end:.1f} s] agent: " in prompt
    assert "Q1. Did the agent complain about the wizard?" in prompt

    passed, failed = card.items
    assert (passed.status, failed.status, card.score) == ("pass", "fail", 50.0)
    [evidence] = passed.evidence
    assert (evidence.utterance, evidence.role) == (agent_at, "agent")
    assert (evidence.start, evidence.end) == (word(real_call, "complaint").start, word(real_call, "wizard").end)
    assert [w.text.strip(",").lower() for w in evidence.words] == ["complaint", "against", "the", "wizard"]
    assert evidence.score == 100.0 and "the LLM judged pass" in passed.reason

    customer_at = segment_with(real_call, "horizon")
    customer = real_call.segments[customer_at]
    [evidence] = failed.evidence
    assert (evidence.utterance, evidence.role) == (customer_at, "customer")
    assert (evidence.start, evidence.end) == (customer.words[0].start, customer.words[-1].end)
    assert evidence.text == customer.text.strip()


def test_an_invented_quote_a_wrong_utterance_or_cannot_tell_is_not_assessed(real_call, settings, llm_server):
    agent_number = segment_with(real_call, "wizard") + 1
    customer_number = segment_with(real_call, "horizon") + 1

    def reply(prompt: str) -> dict:
        return {"answers": [
            {"question": 1, "verdict": "pass", "utterance": agent_number,
             "quote": "thank you for calling, my name is Sam", "reason": "the agent greets"},
            {"question": 2, "verdict": "pass", "utterance": customer_number,
             "quote": "a confused complaint against the wizard", "reason": "quoted from the other line"},
            {"question": 3, "verdict": "cannot_tell", "utterance": 0, "quote": "", "reason": "no account is named"},
            {"question": 4, "verdict": "pass", "utterance": 99, "quote": "the horizon", "reason": "no such line"},
        ]}

    llm_server.judge_reply = reply
    card = score(rubric("greeted?", "complained?", "account checked?", "horizon?"), real_call,
                 item_judge(with_llm(settings, llm_server.base_url)))
    assert [i.status for i in card.items] == ["not_assessed"] * 4 and card.score is None
    assert all(not i.evidence for i in card.items)
    invented, elsewhere, unsure, missing = (i.reason for i in card.items)
    assert f"'thank you for calling, my name is Sam' is not in utterance {agent_number}" in invented
    assert f"is not in utterance {customer_number}" in elsewhere
    assert unsure == "the LLM could not tell: no account is named"
    assert "utterance 99, which the call does not have" in missing


def test_invalid_output_or_an_endpoint_that_is_down_is_not_assessed(real_call, settings, llm_server):
    llm_server.reset("malformed", "wrong_schema")  # the first try and the one retry
    [item] = score(rubric("complained?"), real_call, item_judge(with_llm(settings, llm_server.base_url))).items
    assert item.status == "not_assessed" and "the LLM did not answer" in item.reason
    assert "does not match the schema" in item.reason and len(llm_server.requests) == 2

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    [item] = score(rubric("complained?"), real_call, item_judge(with_llm(settings, closed))).items
    assert item.status == "not_assessed" and "cannot connect" in item.reason


def test_without_an_endpoint_llm_items_are_not_assessed_and_the_rest_is_scored(real_call, settings):
    assert item_judge(with_llm(settings, None)) is None
    found = assess([rubric("complained?")], [], real_call, None)
    [item] = found.scorecards[0].items
    assert item.status == "not_assessed" and "none is configured" in item.reason


def judged_rescore(store, calls: int) -> tuple[list[str], str]:
    """`calls` stored copies of the real analysis and a rescore job (chunks of 2) on a rubric of one
    llm item, which the stand-in judge passes quoting the complaint: (call ids, job id)."""
    ids = store_copies(store, calls)
    store.put_rubric(Rubric.model_validate({"name": "qa", "items": [
        {"id": "complains", "description": "d", "check": {"kind": "llm", "question": "complained?"}}]}),
        tenant="acme")
    job = store.create_backfill(resolve_spec(store, tenant="acme", kind="rescore", rubric=ConfigSelector(name="qa")),
                                tenant="acme", chunk_size=2)
    return ids, job.id


def assert_judged(store, ids: list[str]) -> None:
    for call_id in ids:
        [card] = store.get_assessment(call_id).scorecards
        [evidence] = card.items[0].evidence
        assert (card.items[0].status, evidence.role, evidence.text.lower()[:9]) == ("pass", "agent", "complaint")


def test_a_rescoring_backfill_judges_each_stored_call(store, settings, llm_server):
    ids, job_id = judged_rescore(store, 3)
    llm_server.judge_reply = quoting_judge(COMPLAINT)
    executor = ThreadChunkExecutor(store, workers=2, judge=item_judge(with_llm(settings, llm_server.base_url)))

    assert BackfillRunner(store, executor, lease_s=30).drive(job_id).status == "done"
    assert len(llm_server.requests) == 3  # one per call
    assert_judged(store, ids)
