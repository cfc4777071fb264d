"""QA scorecards: items pass and fail with the evidence seconds that decided them; what cannot be
assessed is said so (never a made-up pass); the score weighs only assessed items."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from callytics_ray.analytics import Rubric, builtin_rubric, score
from callytics_ray.result import InterruptionResult
from tests.analytics.build import SPEAKER, call, line, quality, sentiment


def good_call(**changes):
    """A well-handled English call: greeting with a name, verification before the balance,
    empathy right after the customer's complaint, a hold announced, further help offered."""
    lines = changes.pop("lines", None) or [
        line("agent", 0.0, "Hello thank you for calling my name is Dana", "positive"),
        line("customer", 6.0, "I am really upset my bill is wrong", "negative"),
        line("agent", 11.0, "I am sorry about that let me verify your date of birth first", "neutral"),
        line("customer", 18.0, "it is the fourth of May", "neutral"),
        line("agent", 22.0, "thanks your balance shows two charges please hold one moment", "neutral"),
        # a 19.5 s silence from 26.9 s (the end of "moment") to 46.4 s
        line("agent", 46.4, "I removed the second charge is there anything else", "positive"),
        line("customer", 52.0, "no that is all thanks", "positive"),
    ]
    return call(*lines, duration_s=60.0, quality=changes.pop("quality", quality(longest_silence_s=19.5)),
                sentiment=sentiment(customer=0.1))


def item(card, item_id):
    return next(i for i in card.items if i.id == item_id)


def test_the_builtin_rubric_passes_a_well_handled_call_with_evidence():
    card = score(builtin_rubric(), good_call())
    assert (card.rubric, card.rubric_version) == ("contact-center", 0)
    assert {i.id: i.status for i in card.items} == {
        "greeting": "pass", "identity-before-account": "pass", "empathy-after-negative": "pass",
        "no-long-interruption": "pass", "further-help": "pass", "hold-announced": "pass", "resolution": "not_assessed",
    }
    assert card.score == 100.0 and (card.passed, card.failed, card.not_assessed) == (6, 0, 1)
    greeting = item(card, "greeting")
    assert [(e.text, e.start) for e in greeting.evidence] == [("Hello", 0.0), ("thank you for calling", 0.5),
                                                            ("my name is", 2.5)]
    verify, balance = item(card, "identity-before-account").evidence
    assert (verify.text, verify.start) == ("verify", 14.5) and (balance.text, balance.start) == ("balance", 23.0)
    negative, empathy = item(card, "empathy-after-negative").evidence
    assert negative.kind == "utterance" and negative.start == 6.0 and negative.sentiment == "negative"
    assert (empathy.text, empathy.start) == ("sorry", 12.0)
    hold = item(card, "hold-announced")
    assert [(e.kind, e.start) for e in hold.evidence] == [("phrase", 26.0), ("silence", 26.9)]
    assert hold.evidence[0].text == "one moment" and hold.evidence[1].duration_s == 19.5


def test_greeting_after_15_s_fails():
    lines = [line("customer", 0.0, "hello anyone there"), line("agent", 16.0, "hello my name is Dana")]
    card = score(builtin_rubric(), good_call(lines=lines))
    greeting = item(card, "greeting")
    assert greeting.status == "fail" and greeting.evidence == []


def test_account_details_before_verification_fail_with_both_times():
    lines = [line("agent", 0.0, "hello this is Dana your balance is ten dollars"),
             line("agent", 8.0, "could you verify your postcode")]
    card = score(builtin_rubric(), good_call(lines=lines))
    order = item(card, "identity-before-account")
    assert order.status == "fail"
    assert [(e.text, e.start) for e in order.evidence] == [("balance", 2.5), ("verify", 9.0)]
    assert "'balance' at 2.5 s came first; 'verify' only at 9.0 s" == order.reason


def test_verification_is_not_applicable_when_no_account_details_come_up():
    lines = [line("agent", 0.0, "hello this is Dana"), line("customer", 3.0, "what are your opening hours")]
    assert item(score(builtin_rubric(), good_call(lines=lines)), "identity-before-account").status == "not_applicable"


def test_empathy_too_late_fails_and_no_complaint_is_not_applicable():
    late = [line("customer", 0.0, "this is terrible", "negative"), line("agent", 2.0, "let me check", "neutral"),
            line("agent", 25.0, "sorry for the wait", "neutral")]
    empathy = item(score(builtin_rubric(), good_call(lines=late)), "empathy-after-negative")
    assert empathy.status == "fail" and "within 20 s" in empathy.reason and empathy.evidence[0].start == 0.0
    calm = [line("customer", 0.0, "hi I have a question", "neutral"), line("agent", 2.0, "sure", "neutral")]
    assert item(score(builtin_rubric(), good_call(lines=calm)), "empathy-after-negative").status == "not_applicable"


def test_an_unannounced_long_silence_fails_with_its_seconds():
    lines = [line("agent", 0.0, "hello this is Dana", "neutral"), line("customer", 3.0, "hi", "neutral"),
             line("agent", 20.0, "ok done", "neutral")]
    hold = item(score(builtin_rubric(), good_call(lines=lines)), "hold-announced")
    assert hold.status == "fail"
    [silence] = hold.evidence
    assert (silence.start, silence.end, silence.duration_s) == (3.4, 20.0, 16.6)
    short = [line("agent", 0.0, "hello", "neutral"), line("customer", 3.0, "hi", "neutral")]
    assert item(score(builtin_rubric(), good_call(lines=short)), "hold-announced").status == "not_applicable"


def test_a_long_agent_interruption_fails():
    interruptions = [InterruptionResult(time=7.0, interrupter=SPEAKER["agent"], interrupted=SPEAKER["customer"],
                                        overlap_s=2.4)]
    card = score(builtin_rubric(), good_call(quality=quality(interruptions=interruptions, longest_silence_s=19.5)))
    result = item(card, "no-long-interruption")
    assert result.status == "fail" and result.evidence[0].value == 2.4
    # One failed item of weight 1 among assessed weights 1+2+1+1+1+1 = 7.
    assert card.score == round(100 * 6 / 7, 1)


def test_without_roles_or_facts_items_are_not_assessed_never_passed():
    lines = [line(None, 0.0, "Hello my name is Dana"), line(None, 3.0, "hi I am upset")]
    card = score(builtin_rubric(), call(*lines))  # no diarization, no quality, no sentiment
    assert {i.status for i in card.items} == {"not_assessed"}
    assert card.score is None and card.passed == 0
    assert "roles are not known" in item(card, "greeting").reason
    assert "no quality metrics" in item(card, "no-long-interruption").reason


def test_llm_items_are_not_assessed_offline_and_do_not_count():
    card = score(builtin_rubric(), good_call())
    resolution = item(card, "resolution")
    assert resolution.status == "not_assessed" and "LLM" in resolution.reason and resolution.evidence == []


def test_korean_call_on_the_builtin_rubric():
    lines = [line("agent", 0.0, "안녕하세요 상담원 김민수입니다", "neutral"),
             line("customer", 4.0, "카드가 안 돼서 너무 짜증나요", "negative"),
             line("agent", 9.0, "불편을 드려 죄송합니다 본인 확인을 위해 생년월일을 말씀해 주세요", "neutral"),
             line("customer", 17.0, "구십년 오월 사일이요", "neutral"),
             line("agent", 21.0, "확인되었습니다 결제 내역을 보니 승인이 거절되었네요", "neutral"),
             line("agent", 27.0, "더 도와드릴 일 있으신가요", "neutral")]
    card = score(builtin_rubric(), call(*lines, duration_s=35.0, quality=quality(), sentiment=sentiment()))
    statuses = {i.id: i.status for i in card.items}
    assert statuses["greeting"] == "pass" and statuses["further-help"] == "pass"
    assert statuses["empathy-after-negative"] == "pass" and statuses["identity-before-account"] == "pass"
    assert [e.text for e in item(card, "greeting").evidence] == ["안녕하세요", "상담원"]
    assert [(e.text, e.start) for e in item(card, "identity-before-account").evidence] == [
        ("본인 확인을", 10.5), ("결제 내역을", 21.5)]


def test_applies_when_and_expect_no_match():
    rubric = Rubric.model_validate({"name": "sales", "items": [
        {"id": "no-profanity", "description": "agent never swears", "check": {
            "kind": "rule", "expect": "no_match", "rule": {"kind": "phrase", "speaker": "agent", "phrases": ["damn"]}}},
        {"id": "upsell", "description": "offers the premium plan when asked about prices",
         "applies_when": {"kind": "phrase", "speaker": "customer", "phrases": ["price", "cost"]},
         "check": {"kind": "rule", "rule": {"kind": "phrase", "speaker": "agent", "phrases": ["premium"]}}},
    ]})
    clean = call(line("agent", 0.0, "hello there"), line("customer", 2.0, "what does it cost"),
                 line("agent", 5.0, "damn the premium plan is cheap"))
    card = score(rubric, clean)
    assert {i.id: i.status for i in card.items} == {"no-profanity": "fail", "upsell": "pass"}
    assert item(card, "no-profanity").evidence[0].start == 5.0 and card.score == 50.0
    unrelated = call(line("agent", 0.0, "hello there"), line("customer", 2.0, "bye"))
    assert {i.id: i.status for i in score(rubric, unrelated).items} == {"no-profanity": "pass",
                                                                          "upsell": "not_applicable"}


@pytest.mark.parametrize("data, reason", [
    ({"name": "x", "items": []}, "at least 1 item"),
    ({"name": "bad name!", "items": [{"id": "a", "description": "d", "check": {"kind": "llm", "question": "q"}}]},
     "String should match pattern"),
    ({"name": "x", "items": [{"id": "a", "description": "d", "check": {"kind": "llm", "question": "q"}},
                             {"id": "a", "description": "e", "check": {"kind": "llm", "question": "q"}}]},
     "repeated: a"),
    ({"name": "x", "items": [{"id": "a", "description": "d", "weight": 0, "check": {"kind": "llm", "question": "q"}}]},
     "greater than 0"),
    ({"name": "x", "items": [{"id": "a", "description": "d", "check": {"kind": "guess"}}]}, "expected tags"),
])
def test_invalid_rubrics_are_refused_with_a_reason(data, reason):
    with pytest.raises(ValidationError, match=reason):
        Rubric.model_validate(data)
