"""Speaker to role mapping in English and Korean, stereo layout, per-request override, calibrated
confidence and the LLM's judgement joining it (no models)."""

from __future__ import annotations

import math

import pytest

from callytics_ray.errors import ConfigError
from callytics_ray.roles import (
    RoleJudgement,
    assign_roles,
    compile_phrases,
    is_bare_hello,
    phrase_balance,
    revise_roles,
    speaker_cues,
)
from callytics_ray.settings import RoleOptions
from callytics_ray.types import AudioInfo, SpeakerRole, Utterance


def _info(layout: str) -> AudioInfo:
    return AudioInfo(10.0, 8000, 2 if layout == "dual" else 1, "pcm_s16le", "wav", layout, 20.0, 0.5)


def _utts(lines: list[tuple[str, str]]) -> list[Utterance]:
    out, t = [], 0.0
    for speaker, text in lines:
        out.append(Utterance(t, t + 2.0, speaker, text))
        t += 2.5
    return out


def _roles(result) -> dict[str, str]:
    return {r.speaker: r.role for r in result}


def test_english_agent_found_by_greeting_even_when_the_customer_speaks_first():
    utterances = _utts([
        ("SPEAKER_00", "Hello?"),
        ("SPEAKER_01", "Thank you for calling Acme Bank, my name is John. How can I help you today?"),
        ("SPEAKER_00", "I was charged twice on my card and I want a refund."),
        ("SPEAKER_01", "I am sorry to hear that. Let me check. Could you confirm your name?"),
    ])
    roles = assign_roles(utterances, _info("mono"), RoleOptions())
    assert _roles(roles) == {"SPEAKER_00": "customer", "SPEAKER_01": "agent"}
    assert all(0.0 < r.confidence <= 1.0 for r in roles)
    assert {r.speaker: r.talk_time_s for r in roles} == {"SPEAKER_00": 4.0, "SPEAKER_01": 4.0}


def test_korean_agent_phrases():
    utterances = _utts([
        ("SPEAKER_00", "네 여보세요"),
        ("SPEAKER_01", "안녕하세요 고객님, 상담원 김민수입니다. 무엇을 도와드릴까요?"),
        ("SPEAKER_00", "제 카드에서 두 번 결제가 됐어요. 환불 받고 싶어요."),
        ("SPEAKER_01", "확인해 드리겠습니다. 잠시만 기다려 주세요. 감사합니다."),
    ])
    assert _roles(assign_roles(utterances, _info("mono"), RoleOptions())) == {
        "SPEAKER_00": "customer", "SPEAKER_01": "agent",
    }


def test_without_phrases_the_first_speaker_who_asks_questions_is_the_agent():
    utterances = _utts([("A", "Which account is it?"), ("B", "The savings one."), ("A", "And the date?"), ("B", "Monday.")])
    assert _roles(assign_roles(utterances, _info("mono"), RoleOptions())) == {"A": "agent", "B": "customer"}


def test_a_third_speaker_is_other():
    utterances = _utts([
        ("A", "Thank you for calling, how can I help?"), ("B", "I want to cancel my order."),
        ("B", "It never arrived and I need to get a refund."), ("C", "Hi."),
    ])
    assert _roles(assign_roles(utterances, _info("mono"), RoleOptions())) == {"A": "agent", "B": "customer", "C": "other"}


def test_company_names_are_configurable():
    utterances = _utts([("A", "Yes, hello."), ("B", "Globex, good morning."), ("A", "Hi, question.")])
    plain = _roles(assign_roles(utterances, _info("mono"), RoleOptions()))
    named = _roles(assign_roles(utterances, _info("mono"), RoleOptions(company_names=["globex"])))
    assert plain["A"] == "agent" and named["B"] == "agent"


def test_stereo_roles_come_from_the_channel_layout():
    utterances = _utts([("CHANNEL_1", "Thank you for calling, how can I help?"), ("CHANNEL_0", "Hi, I want a refund.")])
    roles = assign_roles(utterances, _info("dual"), RoleOptions(agent_channel=0))
    assert _roles(roles) == {"CHANNEL_0": "agent", "CHANNEL_1": "customer"}
    assert all(r.confidence == 1.0 for r in roles)
    assert _roles(assign_roles(utterances, _info("dual"), RoleOptions(), agent_channel=1))["CHANNEL_1"] == "agent"


def test_per_request_override_wins():
    utterances = _utts([("A", "Thank you for calling, how can I help?"), ("B", "My card was charged twice.")])
    roles = assign_roles(utterances, _info("mono"), RoleOptions(), override={"A": "customer", "B": "agent"})
    assert _roles(roles) == {"A": "customer", "B": "agent"}
    with pytest.raises(ConfigError):
        assign_roles(utterances, _info("mono"), RoleOptions(), override={"A": "boss"})


# Calibrated confidence (mono calls): a probability that the agent/customer assignment is right.


def _confidence(lines: list[tuple[str, str]], options: RoleOptions | None = None) -> float:
    roles = assign_roles(_utts(lines), _info("mono"), options or RoleOptions())
    return next(r.confidence for r in roles if r.role == "agent")


def test_confidence_is_high_on_a_clear_call():
    from tests.synth import DOUBLE_CHARGE_CALL

    lines = [("A" if role == "agent" else "B", text) for role, text in DOUBLE_CHARGE_CALL]
    roles = assign_roles(_utts(lines), _info("mono"), RoleOptions())
    assert _roles(roles) == {"A": "agent", "B": "customer"}
    assert all(r.confidence >= 0.99 for r in roles)


def test_without_cues_only_who_opened_counts():
    # Same words on both sides: only the opener differs, so the confidence is the opener prior,
    # the logistic of first_speaker_weight (the opener was the agent in 71 of 99 dev calls that do
    # not open with a bare hello).
    options = RoleOptions()
    same = "Thank you for calling, how can I help?"
    confidence = _confidence([("A", same), ("B", same)], options)
    assert confidence == pytest.approx(1 / (1 + math.exp(-options.first_speaker_weight)), abs=0.002)
    assert 0.5 < confidence < 0.85
    assert _confidence([("A", "Right."), ("B", "Okay."), ("A", "Yes."), ("B", "Sure.")]) < 0.85


def test_confidence_is_lower_when_cues_contradict():
    # The opener names the department, or the opener is the one the department answers for: the
    # second call's cues disagree, so it is less sure (and names the one with the phrase).
    agreeing = [("A", "Customer service, good morning."), ("B", "Hi."), ("A", "Yes?"), ("B", "Okay.")]
    contradicting = [("A", "Good morning."), ("B", "Customer service, hi."), ("A", "Hi."), ("B", "Okay.")]
    roles = assign_roles(_utts(contradicting), _info("mono"), RoleOptions())
    assert _roles(roles)["B"] == "agent"
    assert 0.5 < _confidence(contradicting) < _confidence(agreeing)
    assert _confidence(contradicting) < 0.85


def test_a_bare_hello_does_not_make_the_opener_the_agent():
    # Whoever picks up the phone says "hello?": the customer of an outbound call. The agent, who
    # speaks second, introduces themselves and the company.
    lines = [
        ("A", "Hello?"),
        ("B", "Hi, this is Mark from Adatum Energy. Am I speaking with Mrs. Lee?"),
        ("A", "Yes, that's me."),
        ("B", "I'm calling about your smart meter appointment."),
    ]
    assert _roles(assign_roles(_utts(lines), _info("mono"), RoleOptions())) == {"A": "customer", "B": "agent"}
    assert is_bare_hello("Hello?") and is_bare_hello("네, 여보세요.") and is_bare_hello("Hello, hello?")
    assert not is_bare_hello("Hello, customer service.")
    cues = speaker_cues(_utts(lines), RoleOptions())
    assert cues["A"].first == 0.0 and cues["A"].hello == -1.0 and cues["B"].first == 0.0


def test_korean_speech_level_agents_formal_customers_polite():
    # No phrase cue at all: the formal -니다 endings are the shop's, the polite -요 the caller's;
    # "감사합니다" is a set phrase both say, so it does not count.
    lines = [
        ("A", "오늘 몇 시까지 하세요?"),
        ("B", "밤 열 시까지 합니다."),
        ("A", "주말에도 열어요?"),
        ("B", "주말은 여덟 시까지 운영합니다."),
        ("A", "네, 감사합니다."),
    ]
    cues = speaker_cues(_utts(lines), RoleOptions())
    assert cues["B"].register > 0 > cues["A"].register
    assert cues["A"].register == pytest.approx(-2 / 3)
    assert _roles(assign_roles(_utts(lines), _info("mono"), RoleOptions())) == {"A": "customer", "B": "agent"}


def test_overlapping_phrases_count_once_for_the_longest():
    agent = compile_phrases(["wanted to let you know", "무엇을 도와드릴까요", "도와드릴까요", "this is * from"])
    customer = compile_phrases(["i just wanted", "my account"])
    assert phrase_balance("i just wanted to let you know your card is ready", agent, customer) == 1
    assert phrase_balance("i just wanted to check my account", agent, customer) == -2
    assert phrase_balance("무엇을 도와드릴까요?", agent, customer) == 1
    assert phrase_balance("hi, this is lucy from shield insurance", agent, customer) == 1
    assert phrase_balance("this is from", agent, customer) == 0  # "*" is one word, not none


def test_an_ivr_prompt_is_other_and_not_the_agent():
    utterances = _utts([
        ("IVR", "Thank you for calling Contoso. This call may be recorded. Please hold for the next available agent."),
        ("B", "Contoso bookings, this is Ravi."),
        ("C", "Hi, my flight was cancelled and I need a new one."),
        ("B", "Sorry about that. What's your booking reference?"),
    ])
    roles = assign_roles(utterances, _info("mono"), RoleOptions())
    assert _roles(roles) == {"IVR": "other", "B": "agent", "C": "customer"}


def test_a_lone_speaker_is_agent_only_when_they_sound_like_one():
    agent = _confidence([("A", "Thank you for calling Acme, how can I help you?")])
    assert agent > 0.8
    lone_customer = _utts([("A", "Hi, my card was charged twice and I want a refund.")])
    assert _roles(assign_roles(lone_customer, _info("mono"), RoleOptions())) == {"A": "customer"}


# The LLM's judgement joins the offline evidence in log-odds (revise_roles).


def _two_party(agent_confidence: float) -> tuple[SpeakerRole, ...]:
    return (SpeakerRole("A", "agent", agent_confidence, 10.0), SpeakerRole("B", "customer", agent_confidence, 8.0))


def test_an_agreeing_llm_raises_the_confidence():
    revised = revise_roles(_two_party(0.7), RoleJudgement("A", 0.8, "A greets"), _info("mono"), RoleOptions())
    assert _roles(revised) == {"A": "agent", "B": "customer"}
    assert revised[0].confidence == pytest.approx(1 / (1 + (0.3 / 0.7) * (0.2 / 0.8)), abs=0.001)
    assert revised[0].talk_time_s == 10.0


def test_a_contradicting_llm_flips_weak_offline_roles_but_not_clear_ones():
    judgement = RoleJudgement("B", 0.95, "B says thank you for calling")
    flipped = revise_roles(_two_party(0.6), judgement, _info("mono"), RoleOptions())
    assert _roles(flipped) == {"A": "customer", "B": "agent"}
    # 0.95 is capped at llm_max_confidence 0.9: odds 9 against 1.5 for A.
    assert flipped[0].confidence == pytest.approx(1 - 1 / (1 + 9 / 1.5), abs=0.001)
    kept = revise_roles(_two_party(0.97), judgement, _info("mono"), RoleOptions())
    assert _roles(kept) == {"A": "agent", "B": "customer"} and kept[0].confidence < 0.97


def test_the_llm_does_not_touch_overrides_dual_channel_or_unknown_speakers():
    judgement = RoleJudgement("B", 0.9, "")
    roles = _two_party(0.6)
    assert revise_roles(roles, judgement, _info("mono"), RoleOptions(), override={"A": "agent"}) == roles
    assert revise_roles(roles, judgement, _info("dual"), RoleOptions()) == roles
    assert revise_roles(roles, RoleJudgement("SPEAKER_07", 0.9), _info("mono"), RoleOptions()) == roles
    assert revise_roles(roles, None, _info("mono"), RoleOptions()) == roles
    assert revise_roles(roles, judgement, _info("mono"), RoleOptions(llm_weight=0.0)) == roles


def test_an_unsure_llm_counts_as_no_evidence():
    assert revise_roles(_two_party(0.6), RoleJudgement("B", 0.2), _info("mono"), RoleOptions())[0].confidence == 0.6
