"""Sorting listed and searched calls (`CallSort`), on SQLite and PostgreSQL (the `store` fixture of
test_store.py): every sortable column, both directions, NULLs last, a stable tiebreak."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from callytics_ray.result import CallSentimentResult
from callytics_ray.storage import CallFilter, CallSort, CallStatus, CallStore
from tests.storage.test_store import _with_quality, analysis, store  # noqa: F401  (store: the fixture)

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)


def _sentiment(score: float) -> CallSentimentResult:
    label = "positive" if score > 0.2 else "negative" if score < -0.2 else "neutral"
    return CallSentimentResult(label=label, score=score, method="test")


# id -> (age in hours, duration s, agent talk share, call sentiment, agent, language, status, text).
# "n-none" has neither a talk share, a sentiment nor an agent: it must come last in every sort on them.
CALLS = {
    "c-a": (5, 30.0, 0.40, 0.5, "bea", "en", CallStatus.COMPLETED, "refund refund refund"),
    "c-b": (4, 90.0, 0.70, -0.6, "abe", "ko", CallStatus.PARTIAL, "refund please"),
    "c-c": (3, 60.0, 0.55, 0.0, "cid", "de", CallStatus.FAILED, "refund"),
    "c-d": (2, 60.0, 0.25, 0.9, "abe", "en", CallStatus.COMPLETED, "the weather"),
    "n-none": (1, 45.0, None, None, None, None, CallStatus.COMPLETED, "refund again"),
}


@pytest.fixture()
def calls(store: CallStore) -> CallStore:  # noqa: F811
    for call_id, (age_h, duration, share, score, agent, language, status, text) in CALLS.items():
        if agent is not None:
            store.create_call(tenant="acme", call_id=call_id, agent_id=agent)
        call = analysis(call_id, language=language, duration=duration, texts=(text,),
                        created_at=NOW - timedelta(hours=age_h))
        if share is not None:
            call = _with_quality(call, agent_share=share, longest_silence_s=1.0, agent_interruptions=0,
                                 conflict=False)
        if score is not None:
            call = call.model_copy(update={"sentiment": _sentiment(score)})
        store.save_analysis(call, tenant="acme", status=status)
    # A call created by create_call keeps its own created_at (now): give it the one in CALLS.
    from sqlmodel import Session

    from callytics_ray.storage.tables import Call

    with Session(store.engine) as session:
        for call_id, (age_h, *_rest) in CALLS.items():
            row = session.get(Call, call_id)
            row.created_at = NOW - timedelta(hours=age_h)
            session.add(row)
        session.commit()
    return store


def _expected(column: int, *, descending: bool) -> list[str]:
    """The ids in CALLS ordered by field `column`: NULLs last, ties by id, computed here in Python."""
    present = [(v[column], k) for k, v in CALLS.items() if v[column] is not None]
    missing = sorted(k for k, v in CALLS.items() if v[column] is None)
    # Ties by id ascending in both directions: sort by id first, then (stably) by the value.
    ordered = sorted(sorted(present, key=lambda p: p[1]), key=lambda p: p[0], reverse=descending)
    return [k for _, k in ordered] + missing


# CallSort column -> its position in the CALLS tuples (created_at sorts by age, which runs backwards).
FIELDS = {"duration_s": 1, "agent_talk_share": 2, "sentiment_score": 3, "agent_id": 4, "language": 5, "status": 6}


@pytest.mark.parametrize("sort", list(CallSort), ids=lambda s: s.value)
def test_every_sort_orders_the_whole_list_with_nulls_last(calls, sort):
    listed = [c.id for c in calls.list_calls(CallFilter(tenant="acme"), sort=sort).items]
    if sort.column == "created_at":
        newest_first = sorted(CALLS, key=lambda k: CALLS[k][0])
        assert listed == (newest_first if sort.descending else newest_first[::-1])
    else:
        assert listed == _expected(FIELDS[sort.column], descending=sort.descending)


def test_the_default_is_newest_first(calls):
    assert [c.id for c in calls.list_calls(CallFilter(tenant="acme")).items] == ["n-none", "c-d", "c-c", "c-b", "c-a"]


def test_equal_values_keep_one_order_across_pages(calls):
    # c-c and c-d both last 60 s: every page boundary between them gives the same, whole order.
    whole = [c.id for c in calls.list_calls(sort=CallSort.DURATION_DESC).items]
    assert whole == ["c-b", "c-c", "c-d", "n-none", "c-a"]
    paged = [c.id for offset in range(0, 5, 2)
             for c in calls.list_calls(sort=CallSort.DURATION_DESC, limit=2, offset=offset).items]
    assert paged == whole


def test_sorting_combines_with_filters_and_pages(calls):
    page = calls.list_calls(CallFilter(tenant="acme", min_duration_s=40), sort=CallSort.DURATION, limit=2, offset=1)
    assert [c.id for c in page.items] == ["c-c", "c-d"] and page.total == 4


def test_search_keeps_relevance_unless_a_sort_is_given(calls):
    ranked = calls.search_calls("refund", CallFilter(tenant="acme"), max_hits=100)
    assert set(c.id for c in ranked.items) == {"c-a", "c-b", "c-c", "n-none"}
    # FTS ranks the call that says "refund" three times first.
    assert ranked.items[0].id == "c-a"
    by_share = calls.search_calls("refund", CallFilter(tenant="acme"), max_hits=100, sort=CallSort.AGENT_TALK_SHARE_DESC,
                                  limit=2, offset=1)
    assert [c.id for c in by_share.items] == ["c-c", "c-a"] and by_share.total == 4
    assert {h.call_id for h in by_share.hits} == {"c-c", "c-a"}


def test_sort_names_the_direction_and_column():
    assert CallSort("-duration_s") is CallSort.DURATION_DESC
    assert CallSort.DURATION_DESC.column == "duration_s" and CallSort.DURATION_DESC.descending
    assert CallSort.by("agent_id", descending=False) is CallSort.AGENT_ID
    with pytest.raises(ValueError):
        CallSort.by("tenant", descending=True)
