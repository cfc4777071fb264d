"""Speaker to role mapping in English and Korean, stereo layout, per-request override (no models)."""

from __future__ import annotations

import pytest

from callytics_ray.errors import ConfigError
from callytics_ray.roles import assign_roles
from callytics_ray.settings import RoleOptions
from callytics_ray.types import AudioInfo, Utterance


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
