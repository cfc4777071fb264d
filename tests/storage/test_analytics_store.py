"""Rubrics, category sets and call assessments in the store, on SQLite and PostgreSQL: versions per
tenant, the built-in defaults until a tenant stores its own, scorecards and categories per call."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select

from callytics_ray.analytics import Assessment, CategorySet, Rubric, assess, builtin_categories, builtin_rubric
from callytics_ray.errors import NotFoundError
from callytics_ray.storage.tables import CallCategory, CallScorecard
from tests.storage.test_store import analysis, store  # noqa: F401  (the SQLite / PostgreSQL store fixture)


def rubric(name: str = "sales", phrase: str = "hello") -> Rubric:
    return Rubric.model_validate({"name": name, "description": f"says {phrase}", "items": [
        {"id": "says", "description": f"agent says {phrase}",
         "check": {"kind": "rule", "rule": {"kind": "phrase", "phrases": [phrase]}}}]})


def category_set(name: str = "topics", phrase: str = "card") -> CategorySet:
    return CategorySet.model_validate({"name": name, "categories": [
        {"name": "cards", "rule": {"kind": "phrase", "phrases": [phrase]}}]})


def test_putting_a_rubric_makes_a_new_version_each_time(store):
    first = store.put_rubric(rubric(phrase="hello"), tenant="acme")
    second = store.put_rubric(rubric(phrase="welcome"), tenant="acme")
    assert (first.version, second.version) == (1, 2) and not second.builtin and second.created_at is not None
    assert store.get_rubric("sales", tenant="acme").items[0].description == "agent says welcome"
    assert store.get_rubric("sales", tenant="acme", version=1).items[0].description == "agent says hello"
    assert [v.version for v in store.rubric_versions("sales", tenant="acme")] == [1, 2]
    with pytest.raises(NotFoundError, match="rubric 'sales' version 3 not found"):
        store.get_rubric("sales", tenant="acme", version=3)


def test_the_builtin_rubric_is_in_force_until_a_tenant_stores_one(store):
    [builtin] = store.list_rubrics(tenant="acme")
    assert (builtin.name, builtin.version, builtin.builtin) == ("contact-center", 0, True)
    assert builtin.size == len(builtin_rubric().items)
    assert store.rubrics_in_force(tenant="acme")[0].items == builtin_rubric().items
    store.put_rubric(rubric("sales"), tenant="acme")
    store.put_rubric(rubric("collections"), tenant="acme")
    store.put_rubric(rubric("sales", phrase="hi"), tenant="acme")
    assert [(r.name, r.version, r.builtin) for r in store.list_rubrics(tenant="acme")] == [
        ("collections", 1, False), ("sales", 2, False)]
    # Still readable as a template, and as version 0 once the tenant has stored its own.
    assert store.get_rubric("contact-center", tenant="acme").builtin
    store.put_rubric(builtin_rubric(), tenant="acme")
    assert [v.version for v in store.rubric_versions("contact-center", tenant="acme")] == [0, 1]
    assert store.get_rubric("contact-center", tenant="acme").version == 1
    assert store.get_rubric("contact-center", tenant="acme", version=0).builtin


def test_rubrics_are_tenant_scoped(store):
    store.put_rubric(rubric("sales"), tenant="acme")
    with pytest.raises(NotFoundError):
        store.get_rubric("sales", tenant="globex")
    with pytest.raises(NotFoundError):
        store.rubric_versions("sales", tenant="globex")
    assert [r.name for r in store.list_rubrics(tenant="globex")] == ["contact-center"]
    assert store.put_rubric(rubric("sales"), tenant="globex").version == 1


def test_category_sets_are_versioned_like_rubrics(store):
    assert [(s.name, s.builtin) for s in store.list_category_sets(tenant="acme")] == [("contact-center", True)]
    assert store.category_sets_in_force(tenant="acme")[0].categories == builtin_categories().categories
    store.put_category_set(category_set(phrase="card"), tenant="acme")
    stored = store.put_category_set(category_set(phrase="refund"), tenant="acme")
    assert stored.version == 2 and stored.categories[0].rule.phrases == ["refund"]
    assert [(s.name, s.version) for s in store.list_category_sets(tenant="acme")] == [("topics", 2)]
    assert store.get_category_set("topics", tenant="acme", version=1).categories[0].rule.phrases == ["card"]
    assert [v.version for v in store.category_set_versions("topics", tenant="acme")] == [1, 2]
    with pytest.raises(NotFoundError, match="category set 'topics' not found"):
        store.get_category_set("topics", tenant="globex")


def test_an_assessment_round_trips_and_is_replaced(store):
    call = analysis("c-1", texts=("hello there", "my card was charged twice"))
    store.save_analysis(call, tenant="acme")
    store.save_assessment("c-1", assess([rubric()], [category_set()], call))
    stored = store.get_assessment("c-1", tenant="acme")
    assert stored.error is None and [c.rubric for c in stored.scorecards] == ["sales"]
    assert stored.scorecards[0].score == 100.0 and stored.scorecards[0].items[0].evidence[0].text == "hello"
    assert [(m.category, m.category_set) for m in stored.categories] == [("cards", "topics")]
    assert stored.categories[0].evidence[0].start == pytest.approx(2.8)  # "card": word 1 (0.3 s apart) of the line at 2.5 s
    store.save_assessment("c-1", assess([rubric(phrase="welcome")], [], call))
    again = store.get_assessment("c-1", tenant="acme")
    assert again.scorecards[0].score == 0.0 and again.categories == [] and again.assessed_at >= stored.assessed_at
    with pytest.raises(NotFoundError):
        store.get_assessment("c-1", tenant="globex")


def test_a_failed_assessment_is_recorded_and_drops_stale_results(store):
    call = analysis("c-1")
    store.save_analysis(call, tenant="acme")
    with pytest.raises(NotFoundError, match="has no scorecard yet"):
        store.get_assessment("c-1", tenant="acme")
    store.save_assessment("c-1", assess([rubric()], [category_set()], call))
    store.save_assessment("c-1", None, error="ValueError: broken rubric")
    failed = store.get_assessment("c-1", tenant="acme")
    assert failed.error == "ValueError: broken rubric" and failed.scorecards == [] and failed.categories == []
    with pytest.raises(NotFoundError):
        store.save_assessment("missing", Assessment())


def test_deleting_a_call_deletes_its_assessment(store):
    call = analysis("c-1")
    store.save_analysis(call, tenant="acme")
    store.save_assessment("c-1", assess([rubric()], [category_set()], call))
    store.delete_call("c-1", tenant="acme")
    with Session(store.engine) as session:
        assert session.exec(select(CallScorecard)).all() == [] and session.exec(select(CallCategory)).all() == []
    with pytest.raises(NotFoundError):
        store.get_assessment("c-1")


def test_agent_scores_aggregate_per_agent_over_a_period(store):
    now = datetime.now(timezone.utc)
    scripts = [("c-1", "ann", "hello there", "acme"), ("c-2", "ann", "good day", "acme"),
               ("c-3", "bob", "hello you", "acme"), ("c-4", "ann", "hello", "globex")]
    for call_id, agent, text, tenant in scripts:
        store.create_call(tenant=tenant, call_id=call_id, agent_id=agent)
        call = analysis(call_id, texts=(text,))
        store.save_analysis(call, tenant=tenant)
        store.save_assessment(call_id, assess([rubric()], [], call))
    scores = store.agent_scores("sales", tenant="acme")
    assert [(s.agent_id, s.calls, s.mean_score, s.min_score, s.max_score) for s in scores] == [
        ("ann", 2, 50.0, 0.0, 100.0), ("bob", 1, 100.0, 100.0, 100.0)]
    assert store.agent_scores("sales", tenant="acme", created_after=now + timedelta(hours=1)) == []
    assert [s.calls for s in store.agent_scores("sales", tenant="globex")] == [1]
    assert store.agent_scores("other", tenant="acme") == []
