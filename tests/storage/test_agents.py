"""Per-agent figures from the store's GROUP BY queries, on SQLite and on PostgreSQL, checked
against figures worked out by hand from the stored calls."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from callytics_ray.storage import CallFilter, CallStore
from tests.storage.agent_calls import store_agent_call
from tests.storage.test_store import store  # noqa: F401  (the fixture: SQLite and PostgreSQL)


def at(day: int, hour: int = 12) -> datetime:
    """March 2024, UTC: the 4th and the 11th are Mondays, the 10th a Sunday."""
    return datetime(2024, 3, day, hour, tzinfo=timezone.utc)


@pytest.fixture()
def calls(store: CallStore) -> CallStore:  # noqa: F811
    store_agent_call(store, "a1", agent="ann", when=at(4, 10), duration=60, sentiment=0.5, talk_share=0.6,
                     interruptions=2, rate_wpm=150)
    store_agent_call(store, "a2", agent="ann", when=at(4, 15), duration=120, sentiment=-0.1, talk_share=0.4,
                     interruptions=0, rate_wpm=130)
    store_agent_call(store, "a3", agent="ann", when=at(6), duration=30, sentiment=0.2, talk_share=0.5,
                     interruptions=4, rate_wpm=170)
    store_agent_call(store, "a5", agent="ann", when=at(10), duration=90, sentiment=-0.6, talk_share=0.7,
                     interruptions=1, rate_wpm=160)
    store_agent_call(store, "a4", agent="ann", when=at(11), analysed=False)  # handled, not analysed yet
    store_agent_call(store, "b1", agent="bob", when=at(5), duration=45, sentiment=0.9, talk_share=0.3,
                     interruptions=0, rate_wpm=120)
    store_agent_call(store, "n1", agent=None, when=at(5))  # no agent: in no agent's figures
    store_agent_call(store, "g1", agent="ann", when=at(4), tenant="globex", duration=600, sentiment=-1.0)
    return store


def figures(item) -> tuple:
    return (item.calls, item.analysed_calls, item.total_duration_s, item.mean_sentiment_score,
            item.mean_agent_talk_share, item.mean_agent_interruptions, item.mean_agent_speaking_rate_wpm)


def test_each_agent_of_the_tenant_most_calls_first(calls):
    agents = calls.agent_summaries(CallFilter(tenant="acme"))
    assert [a.agent_id for a in agents] == ["ann", "bob"]
    ann, bob = agents
    # ann: 5 calls, the 4 analysed ones' means: (0.5-0.1+0.2-0.6)/4, (.6+.4+.5+.7)/4, (2+0+4+1)/4, (150+130+170+160)/4
    assert figures(ann) == pytest.approx((5, 4, 300.0, 0.0, 0.55, 1.75, 152.5))
    assert figures(bob) == pytest.approx((1, 1, 45.0, 0.9, 0.3, 0.0, 120.0))
    assert (ann.first_call_at.date(), ann.last_call_at.date()) == (date(2024, 3, 4), date(2024, 3, 11))
    # The other tenant's ann is another agent: her one call only.
    (globex_ann,) = calls.agent_summaries(CallFilter(tenant="globex"))
    assert figures(globex_ann) == pytest.approx((1, 1, 600.0, -1.0, 0.5, 0.0, 150.0))


def test_a_date_range_bounds_the_calls_counted(calls):
    agents = calls.agent_summaries(CallFilter(tenant="acme", created_after=at(5, 0), created_before=at(11, 0)))
    assert [(a.agent_id, a.calls) for a in agents] == [("ann", 2), ("bob", 1)]
    assert figures(agents[0]) == pytest.approx((2, 2, 120.0, -0.2, 0.6, 2.5, 165.0))
    assert calls.agent_summaries(CallFilter(tenant="acme", created_after=at(20))) == []


def test_an_agents_trend_per_day(calls):
    trend = calls.agent_trend(CallFilter(tenant="acme", agent_id="ann"), bucket="day")
    assert [b.start for b in trend] == [date(2024, 3, 4), date(2024, 3, 6), date(2024, 3, 10), date(2024, 3, 11)]
    assert figures(trend[0]) == pytest.approx((2, 2, 180.0, 0.2, 0.5, 1.0, 140.0))
    assert figures(trend[2]) == pytest.approx((1, 1, 90.0, -0.6, 0.7, 1.0, 160.0))
    # The queued call: handled that day, no figures yet.
    assert figures(trend[3]) == (1, 0, 0.0, None, None, None, None)


def test_an_agents_trend_per_week_starts_on_monday(calls):
    trend = calls.agent_trend(CallFilter(tenant="acme", agent_id="ann"), bucket="week")
    # Sunday the 10th belongs to the week of Monday the 4th; Monday the 11th starts the next.
    assert [(b.start, b.calls) for b in trend] == [(date(2024, 3, 4), 4), (date(2024, 3, 11), 1)]
    assert figures(trend[0]) == pytest.approx((4, 4, 300.0, 0.0, 0.55, 1.75, 152.5))
    assert calls.agent_trend(CallFilter(tenant="globex", agent_id="bob"), bucket="week") == []
