"""Categories: a call gets the categories whose rule it matches, with the matched evidence."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from pydantic import ValidationError

import callytics_ray
from callytics_ray.analytics import Category, CategorySet, builtin_categories, categorize, parse_rule
from tests.analytics.build import call, line, quality, sentiment
from tests.unit.test_stage_imports import imported_modules


def names(matches) -> list[str]:
    return [m.category for m in matches]


def test_builtin_categories_on_an_english_call():
    analysis = call(line("agent", 0.0, "hello how can I help"),
                    line("customer", 3.0, "my card was stolen and I am not happy about the fees"),
                    line("customer", 10.0, "I want to cancel the account"),
                    quality=quality(longest_silence_s=3.0, overtalk_ratio=0.02), sentiment=sentiment(customer=-0.1))
    matches = categorize(builtin_categories(), analysis)
    assert names(matches) == ["cancellation", "lost-or-stolen-card", "dissatisfied-customer"]
    by_name = {m.category: m for m in matches}
    assert all((m.category_set, m.set_version) == ("contact-center", 0) for m in matches)
    assert [(e.text, e.start) for e in by_name["lost-or-stolen-card"].evidence] == [("card was stolen", 3.5)]
    dissatisfied = by_name["dissatisfied-customer"].evidence
    assert [(e.text, e.negated) for e in dissatisfied] == [("happy", True)]
    assert by_name["cancellation"].evidence[0].start == 11.5


def test_builtin_categories_on_a_korean_call():
    analysis = call(line("agent", 0.0, "안녕하세요 무엇을 도와드릴까요"),
                    line("customer", 3.0, "카드를 분실했어요 그리고 해지하고 싶어요"),
                    line("customer", 9.0, "상담이 만족스럽지 않아요"),
                    quality=quality(), sentiment=sentiment(customer=0.0))
    matches = categorize(builtin_categories(), analysis)
    assert names(matches) == ["cancellation", "lost-or-stolen-card", "dissatisfied-customer"]
    assert [e.text for e in matches[1].evidence] == ["카드를 분실했어요"]


def test_metric_categories_and_a_calm_call():
    noisy = call(line("agent", 0.0, "hello"), quality=quality(longest_silence_s=12.0, overtalk_ratio=0.2),
                 sentiment=sentiment())
    assert names(categorize(builtin_categories(), noisy)) == ["long-silence", "heavy-overtalk"]
    calm = call(line("agent", 0.0, "hello"), line("customer", 2.0, "I am very happy thanks"),
                quality=quality(), sentiment=sentiment(customer=0.5))
    assert categorize(builtin_categories(), calm) == []


def test_a_category_that_cannot_be_decided_is_not_matched():
    no_roles = call(line(None, 0.0, "I want to cancel"))
    own = [Category(name="cancel-any", rule=parse_rule({"kind": "phrase", "phrases": ["cancel"]})),
           Category(name="cancel-by-customer",
                    rule=parse_rule({"kind": "phrase", "phrases": ["cancel"], "speaker": "customer"}))]
    matches = categorize(own, no_roles)
    assert names(matches) == ["cancel-any"] and matches[0].category_set is None


def test_a_category_set_refuses_repeated_names():
    rule = {"kind": "phrase", "phrases": ["x"]}
    with pytest.raises(ValidationError, match="repeated: a"):
        CategorySet.model_validate({"name": "s", "categories": [{"name": "a", "rule": rule},
                                                                 {"name": "a", "rule": rule}]})


def test_analytics_stands_on_the_shared_floor_only():
    # Ray-free, and no stage, storage or API: a backfill job or any stage may import it.
    root = Path(callytics_ray.__file__).parent
    allowed = ("callytics_ray.analytics", "callytics_ray.result", "callytics_ray.text", "callytics_ray.headline",
               "callytics_ray.judgement", "callytics_ray.types", "callytics_ray.settings", "callytics_ray.errors")
    outside = set()
    for path in (root / "analytics").rglob("*.py"):
        for _line, module in imported_modules(path.read_text(), "callytics_ray.analytics"):
            if module.startswith("callytics_ray") and module != "callytics_ray" and not module.startswith(allowed):
                outside.add(f"{path.name}: {module}")
            assert not module.startswith("ray"), f"{path.name} imports {module}"
    assert outside == set()
