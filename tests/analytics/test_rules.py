"""The condition language: each kind of condition must match where it should and must not where it
should not, with the evidence (utterance, speaker, seconds, words) of what matched."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from callytics_ray.analytics import evaluate, parse_rule
from callytics_ray.result import InterruptionResult, LoudnessPoint, NonTalkInstance
from tests.analytics.build import SPEAKER, call, line, quality, sentiment


def phrase(*phrases: str, **options) -> dict:
    return {"kind": "phrase", "phrases": list(phrases), **options}


def matched(rule: dict, analysis) -> bool | None:
    return evaluate(parse_rule(rule), analysis).matched


# --- phrases --------------------------------------------------------------------------------------

def test_a_phrase_match_quotes_the_words_and_their_seconds():
    analysis = call(line("agent", 0.0, "Hello how can I help"),
                    line("customer", 4.0, "My card was charged twice"))
    result = evaluate(parse_rule(phrase("charged twice")), analysis)
    assert result.matched is True
    [evidence] = result.evidence
    assert (evidence.utterance, evidence.speaker, evidence.role) == (1, SPEAKER["customer"], "customer")
    # "charged" is word 3 of the line at 4.0 s: 4.0 + 3 * 0.5 = 5.5; "twice" ends at 6.0 + 0.4.
    assert (evidence.start, evidence.end) == (5.5, 6.4)
    assert [(w.text, w.start) for w in evidence.words] == [("charged", 5.5), ("twice", 6.0)]
    assert evidence.text == "charged twice" and evidence.phrase == "charged twice"


def test_english_phrases_match_whole_words_in_any_case():
    analysis = call(line("customer", 0.0, "THIS cardigan is nice, I’m told"))
    assert matched(phrase("card"), analysis) is False
    assert matched(phrase("hi"), analysis) is False
    assert matched(phrase("cardigan"), analysis) is True
    assert matched(phrase("i'm told"), analysis) is True  # typographic apostrophe in the transcript


def test_min_count_counts_occurrences():
    analysis = call(line("agent", 0.0, "sorry about that, so sorry, really sorry"))
    assert matched(phrase("sorry", min_count=3), analysis) is True
    assert matched(phrase("sorry", min_count=4), analysis) is False


# --- negation -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["I am not happy", "I'm never happy with this", "I don't feel happy",
                                  "honestly I'm not very happy"])
def test_a_negated_phrase_does_not_match_unless_asked_for(text):
    analysis = call(line("customer", 0.0, text))
    assert matched(phrase("happy"), analysis) is False
    assert matched(phrase("happy", negation="require"), analysis) is True
    assert matched(phrase("happy", negation="ignore"), analysis) is True


def test_a_negator_outside_the_window_does_not_negate():
    analysis = call(line("customer", 0.0, "no I mean that I am happy"))
    assert matched(phrase("happy"), analysis) is True
    assert matched(phrase("happy", negation_window=6), analysis) is False
    assert evaluate(parse_rule(phrase("happy", negation="ignore", negation_window=6)), analysis).evidence[0].negated


@pytest.mark.parametrize("text, stem", [
    ("서비스가 안 좋아요", "좋"),          # short negation before the verb
    ("정말 만족하지 않아요", "만족"),      # long negation after -지
    ("돈을 못 받았어요", "받"),
    ("문제없어요", "문제"),               # 없 fused to the noun
    ("문제가 없어요", "문제"),            # 없 as the next eojeol
    ("불만이 아니에요", "불만"),
])
def test_korean_negation_before_and_after_the_phrase(text, stem):
    analysis = call(line("customer", 0.0, text))
    assert matched(phrase(stem), analysis) is False
    assert matched(phrase(stem, negation="require"), analysis) is True


def test_korean_affirmative_is_not_negated():
    analysis = call(line("customer", 0.0, "아주 만족합니다 문제가 해결됐어요"))
    assert matched(phrase("만족"), analysis) is True
    assert matched(phrase("문제"), analysis) is True


# --- Korean ---------------------------------------------------------------------------------------

def test_a_korean_phrase_matches_the_start_of_an_eojeol():
    analysis = call(line("customer", 2.0, "제 카드를 잃어버렸어요"))
    result = evaluate(parse_rule(phrase("카드")), analysis)
    assert result.matched is True
    assert result.evidence[0].text == "카드를" and result.evidence[0].start == 2.5
    assert matched(phrase("잃어버"), analysis) is True
    assert matched(phrase("버렸"), analysis) is False  # inside the eojeol, not its start


def test_korean_prefix_matching_keeps_opposites_apart():
    # 불만족 is "dissatisfied": 만족 ("satisfied") must not match inside it.
    analysis = call(line("customer", 0.0, "너무 불만족스러워요"))
    assert matched(phrase("만족"), analysis) is False
    assert matched(phrase("불만"), analysis) is True


def test_a_spaced_korean_phrase_matches_the_compact_spelling():
    analysis = call(line("customer", 0.0, "카드분실 신고하려고요"))
    assert matched(phrase("카드 분실"), analysis) is True
    assert matched(phrase("카드 도난"), analysis) is False


# --- fuzzy ----------------------------------------------------------------------------------------

def test_fuzzy_matching_forgives_a_misrecognised_word_at_its_threshold():
    analysis = call(line("customer", 0.0, "I want a refnd for this"))
    assert matched(phrase("refund"), analysis) is False
    result = evaluate(parse_rule(phrase("refund", match="fuzzy", threshold=85)), analysis)
    assert result.matched is True and result.evidence[0].text == "refnd"
    assert 85 <= result.evidence[0].score < 100
    assert matched(phrase("refund", match="fuzzy", threshold=95), analysis) is False
    assert matched(phrase("return", match="fuzzy", threshold=85), analysis) is False


def test_fuzzy_matching_of_korean_compares_the_eojeol_start():
    analysis = call(line("customer", 0.0, "환볼해 주세요"))  # 환불 misrecognised as 환볼
    assert matched(phrase("환불"), analysis) is False
    assert matched(phrase("환불", match="fuzzy", threshold=50), analysis) is True


# --- proximity ------------------------------------------------------------------------------------

def near(**options) -> dict:
    return {"kind": "near", "phrases": ["card"], "near": ["stolen", "lost"], **options}


def test_near_finds_a_word_within_n_words_of_another():
    analysis = call(line("customer", 0.0, "my card was stolen yesterday"))
    result = evaluate(parse_rule(near(within_words=5)), analysis)
    assert result.matched is True
    assert result.evidence[0].text == "card was stolen" and result.evidence[0].phrase == "card ~ stolen"
    assert matched(near(within_words=1), analysis) is False


def test_near_respects_distance_order_and_utterances():
    far = call(line("customer", 0.0, "the card I had in the blue wallet was stolen"))
    assert matched(near(within_words=5), far) is False
    assert matched(near(within_words=8), far) is True
    reversed_order = call(line("customer", 0.0, "I lost my card"))
    assert matched(near(), reversed_order) is True
    assert matched(near(ordered=True), reversed_order) is False
    split = call(line("customer", 0.0, "my card"), line("customer", 3.0, "stolen"))
    assert matched(near(), split) is False


# --- role scope and windows -----------------------------------------------------------------------

def test_role_scope_tells_who_said_it():
    analysis = call(line("agent", 0.0, "do you want to cancel"), line("customer", 3.0, "no thanks"))
    assert matched(phrase("cancel", speaker="agent"), analysis) is True
    assert matched(phrase("cancel", speaker="customer"), analysis) is False
    assert matched(phrase("cancel", speaker="any"), analysis) is True


def test_role_scope_without_roles_is_unknown_not_false():
    analysis = call(line(None, 0.0, "do you want to cancel"))
    result = evaluate(parse_rule(phrase("cancel", speaker="customer")), analysis)
    assert result.matched is None and "roles are not known" in result.unknown
    assert matched(phrase("cancel"), analysis) is True


def test_time_windows_first_last_and_between():
    analysis = call(line("agent", 1.0, "hello there"), line("customer", 20.0, "I want to cancel"),
                    line("agent", 50.0, "anything else"), duration_s=60.0)
    assert matched(phrase("hello", window={"first_s": 5}), analysis) is True
    assert matched(phrase("cancel", window={"first_s": 5}), analysis) is False
    assert matched(phrase("anything else", window={"last_s": 15}), analysis) is True  # starts at 50 >= 45
    assert matched(phrase("anything else", window={"last_s": 5}), analysis) is False
    assert matched(phrase("cancel", window={"from_s": 19, "to_s": 22}), analysis) is True  # "cancel" at 21.5
    assert matched(phrase("cancel", window={"from_s": 22}), analysis) is False


def test_sentiment_condition_by_role_and_window():
    analysis = call(line("customer", 0.0, "this is awful", "negative"), line("agent", 3.0, "sorry", "neutral"),
                    line("customer", 40.0, "thanks a lot", "positive"), duration_s=45.0)
    rule = {"kind": "sentiment", "label": "negative", "speaker": "customer"}
    result = evaluate(parse_rule(rule), analysis)
    assert result.matched is True and result.evidence[0].text == "this is awful"
    assert matched({**rule, "window": {"last_s": 10}}, analysis) is False
    assert matched({"kind": "sentiment", "label": "negative", "speaker": "agent"}, analysis) is False
    assert matched(rule, call(line("customer", 0.0, "no sentiment here"))) is None


# --- metrics --------------------------------------------------------------------------------------

def metric(name: str, op: str, value: float) -> dict:
    return {"kind": "metric", "metric": name, "op": op, "value": value}


def test_metric_conditions_compare_the_stored_figures():
    analysis = call(line("agent", 0.0, "hello"), quality=quality(longest_silence_s=12.5, overtalk_ratio=0.15,
                                                                   agent_share=0.72),
                    sentiment=sentiment(customer=-0.4, agent=0.3))
    assert matched(metric("longest_silence_s", ">", 10), analysis) is True
    assert matched(metric("longest_silence_s", "<=", 12), analysis) is False
    assert matched(metric("overtalk_ratio", ">=", 0.15), analysis) is True
    assert matched(metric("agent_talk_share", ">", 0.7), analysis) is True
    assert matched(metric("customer_talk_share", "<", 0.25), analysis) is False  # 0.28
    assert matched(metric("customer_sentiment", "<", -0.3), analysis) is True
    assert matched(metric("agent_sentiment", "==", 0.3), analysis) is True
    assert matched(metric("duration_s", "!=", analysis.audio.duration_s), analysis) is False
    result = evaluate(parse_rule(metric("longest_silence_s", ">", 10)), analysis)
    [evidence] = result.evidence
    assert (evidence.metric, evidence.value, evidence.op, evidence.threshold) == ("longest_silence_s", 12.5, ">", 10)


def test_interruption_metrics_are_per_role():
    agent, customer = SPEAKER["agent"], SPEAKER["customer"]
    interruptions = [InterruptionResult(time=5.0, interrupter=agent, interrupted=customer, overlap_s=2.6),
                     InterruptionResult(time=9.0, interrupter=agent, interrupted=customer, overlap_s=0.8),
                     InterruptionResult(time=12.0, interrupter=customer, interrupted=agent, overlap_s=4.0)]
    analysis = call(line("agent", 0.0, "hello"), quality=quality(interruptions=interruptions))
    assert matched(metric("agent_longest_interruption_s", "<=", 2), analysis) is False
    assert matched(metric("agent_longest_interruption_s", "==", 2.6), analysis) is True
    assert matched(metric("agent_interruptions", "==", 2), analysis) is True
    assert matched(metric("customer_interruptions", "==", 1), analysis) is True
    assert matched(metric("interruptions", "==", 3), analysis) is True


def test_loudness_talk_speed_and_non_talk_metrics():
    agent, customer = SPEAKER["agent"], SPEAKER["customer"]
    base = quality()
    speakers = [
        s.model_copy(update={"loudness_lufs": -24.0 if s.role == "agent" else -15.5, "speaking_rate_wpm": 180.0,
                             "loudness": [LoudnessPoint(start=0.0, end=3.0, lufs=-20.0),
                                          LoudnessPoint(start=9.0, end=12.0, lufs=-11.2)] if s.role == "customer" else []})
        for s in base.speakers
    ]
    shouting = base.model_copy(update={
        "speakers": speakers, "non_talk_time_s": 7.5, "non_talk_ratio": 0.125,
        "non_talk": [NonTalkInstance(start=20.0, end=24.0, duration_s=4.0), NonTalkInstance(start=40.0, end=43.5, duration_s=3.5)],
    })
    analysis = call(line("agent", 0.0, "hello"), quality=shouting)
    assert {agent, customer} == {s.speaker for s in speakers}
    assert matched(metric("customer_loudness_lufs", ">", -20), analysis) is True
    assert matched(metric("agent_loudness_lufs", ">", -20), analysis) is False
    assert matched(metric("customer_max_loudness_lufs", "==", -11.2), analysis) is True
    assert matched(metric("customer_speaking_rate_wpm", ">=", 180), analysis) is True
    assert matched(metric("non_talk_time_s", ">", 7), analysis) is True
    assert matched(metric("non_talk_ratio", "<", 0.1), analysis) is False
    assert matched(metric("non_talk_instances", "==", 2), analysis) is True
    # A call stored before these were measured: unknown with the reason, never a made-up 0.
    older = evaluate(parse_rule(metric("customer_loudness_lufs", ">", -20)), call(line("agent", 0.0, "hi"), quality=base))
    assert older.matched is None and "loudness was not measured" in older.unknown
    older = evaluate(parse_rule(metric("non_talk_time_s", ">", 7)), call(line("agent", 0.0, "hi"), quality=base))
    assert older.matched is None and "before non-talk time" in older.unknown


def test_a_metric_the_call_lacks_is_unknown():
    analysis = call(line("agent", 0.0, "hello"))
    result = evaluate(parse_rule(metric("longest_silence_s", ">", 10)), analysis)
    assert result.matched is None and "no quality metrics" in result.unknown
    assert matched(metric("call_sentiment", "<", 0), analysis) is None
    assert matched(metric("duration_s", ">", 1), analysis) is True  # from the audio


# --- combinators ----------------------------------------------------------------------------------

def test_all_any_not_combine_matches():
    analysis = call(line("customer", 0.0, "I want to cancel and get a refund"))
    cancel, refund, upgrade = phrase("cancel"), phrase("refund"), phrase("upgrade")
    assert matched({"kind": "all", "conditions": [cancel, refund]}, analysis) is True
    assert matched({"kind": "all", "conditions": [cancel, upgrade]}, analysis) is False
    assert matched({"kind": "any", "conditions": [upgrade, refund]}, analysis) is True
    assert matched({"kind": "any", "conditions": [upgrade]}, analysis) is False
    assert matched({"kind": "not", "condition": upgrade}, analysis) is True
    assert matched({"kind": "all", "conditions": [cancel, {"kind": "not", "condition": refund}]}, analysis) is False
    both = evaluate(parse_rule({"kind": "all", "conditions": [cancel, refund]}), analysis)
    assert [e.phrase for e in both.evidence] == ["cancel", "refund"]


def test_combinators_are_three_valued():
    analysis = call(line("customer", 0.0, "I want to cancel"))  # no quality: metrics are unknown
    unknown, yes, no = metric("longest_silence_s", ">", 10), phrase("cancel"), phrase("upgrade")
    assert matched({"kind": "all", "conditions": [yes, unknown]}, analysis) is None
    assert matched({"kind": "all", "conditions": [no, unknown]}, analysis) is False
    assert matched({"kind": "any", "conditions": [yes, unknown]}, analysis) is True
    assert matched({"kind": "any", "conditions": [no, unknown]}, analysis) is None
    assert matched({"kind": "not", "condition": unknown}, analysis) is None


# --- the rule as data -----------------------------------------------------------------------------

def test_a_rule_round_trips_through_json():
    data = {"kind": "any", "conditions": [
        {"kind": "near", "phrases": ["card"], "near": ["stolen"], "within_words": 3, "speaker": "customer"},
        {"kind": "not", "condition": {"kind": "phrase", "phrases": ["해지"], "window": {"last_s": 60}}},
    ]}
    rule = parse_rule(data)
    assert parse_rule(rule.model_dump(mode="json")) == rule


@pytest.mark.parametrize("data, reason", [
    ({"kind": "sometimes"}, "does not match any of the expected tags"),
    ({"kind": "phrase", "phrases": []}, "needs phrases, or vocabulary: true"),
    ({"kind": "phrase", "phrases": ["x"], "window": {"first_s": 5, "last_s": 5}}, "a window is one of"),
    ({"kind": "phrase", "phrases": ["x"], "window": {"from_s": 9, "to_s": 3}}, "is not after"),
    ({"kind": "metric", "metric": "happiness", "op": ">", "value": 1}, "metric"),
    ({"kind": "phrase", "phrases": ["x"], "speaker": "manager"}, "speaker"),
    ({"kind": "phrase", "phrases": ["x"], "colour": "red"}, "Extra inputs are not permitted"),
    ({"kind": "all", "conditions": []}, "at least 1 item"),
])
def test_invalid_rules_are_refused_with_a_reason(data, reason):
    with pytest.raises(ValidationError, match=reason):
        parse_rule(data)
