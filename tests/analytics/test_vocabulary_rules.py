"""Category rules over a call's custom vocabulary: a phrase condition with `vocabulary: true`
matches the terms the call was accepted with, exactly or (fuzzy) at a near-miss spelling."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from callytics_ray.analytics import CategorySet, categorize, evaluate, parse_rule
from callytics_ray.result import VocabularyResult
from tests.analytics.build import call, line


def with_vocabulary(analysis, *terms: str):
    return analysis.model_copy(update={"vocabulary": VocabularyResult(terms=list(terms), tenant_version=3)})


PRODUCTS = CategorySet.model_validate({"name": "products", "categories": [
    {"name": "product-mention", "description": "the customer names one of our products",
     "rule": {"kind": "phrase", "speaker": "customer", "vocabulary": True, "match": "fuzzy", "threshold": 80}},
]})


def test_a_vocabulary_term_said_by_the_customer_matches_with_its_evidence():
    analysis = with_vocabulary(
        call(line("agent", 0.0, "thanks for calling"), line("customer", 2.0, "my callytics pro plan keeps failing")),
        "Zentrafy", "Callytics Pro",
    )
    [match] = categorize(PRODUCTS, analysis)
    [evidence] = match.evidence
    assert (match.category, evidence.phrase, evidence.text, evidence.role) == (
        "product-mention", "Callytics Pro", "callytics pro", "customer")
    assert (evidence.start, evidence.score) == (2.5, 100.0)  # "callytics" is the second word


def test_fuzzy_matching_counts_a_near_miss_spelling_of_a_term():
    # Whisper base writes "Whitmore" for the name Whittemore when it was not told the name.
    analysis = with_vocabulary(call(line("customer", 0.0, "Tom apologized to Whitmore")), "Whittemore")
    [match] = categorize(PRODUCTS, analysis)
    assert [(e.text, e.phrase, e.score) for e in match.evidence] == [("Whitmore", "Whittemore", 88.9)]
    exact = parse_rule({"kind": "phrase", "vocabulary": True})
    assert evaluate(exact, analysis).matched is False


def test_listed_phrases_and_vocabulary_terms_count_together():
    rule = parse_rule({"kind": "phrase", "phrases": ["refund"], "vocabulary": True, "min_count": 2})
    analysis = call(line("customer", 0.0, "a refund for zentrafy please"))
    assert evaluate(rule, with_vocabulary(analysis, "Zentrafy")).matched is True
    assert evaluate(rule, analysis).matched is False  # without a vocabulary only "refund" counts


def test_a_call_without_vocabulary_cannot_tell_and_a_rule_needs_something_to_match():
    result = evaluate(parse_rule({"kind": "phrase", "vocabulary": True}), call(line("customer", 0.0, "hello")))
    assert (result.matched, result.unknown) == (None, "the call has no vocabulary")
    with pytest.raises(ValidationError, match="needs phrases, or vocabulary: true"):
        parse_rule({"kind": "phrase"})
