"""Call drivers over stored calls (SQLite; PostgreSQL too for the reads and the cache) with the real MiniLM encoder: themes
recovered, counts and trend buckets, the embedding cache, tenants kept apart, keyphrase labels,
and the LLM naming path against the real local OpenAI-protocol server."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update
from sqlmodel import Session

from callytics_ray.drivers.report import CallDrivers, bucket_start
from callytics_ray.result import AnalysisResult, ConflictResult
from callytics_ray.storage import CallFilter, CallStore
from callytics_ray.storage.tables import Call
from tests.analytics.driver_reasons import REASONS
from tests.nlp.llm_server import ChatServer
from tests.storage.test_store import analysis, store  # noqa: F401  (the SQLite / PostgreSQL store fixture)

MONDAY = datetime(2024, 3, 4, 10, tzinfo=timezone.utc)  # weeks of 4 and 11 March 2024


def store_reason_call(store: CallStore, call_id: str, reason: str | None, when: datetime, *, tenant: str = "acme",
                      summary: str = "The customer called.") -> None:
    """A call stored as the gateway stores one, with an analysis giving this reason, created at `when`."""
    store.create_call(tenant=tenant, call_id=call_id, source_name=f"{call_id}.wav")
    result = AnalysisResult(summary=summary, reason=reason, conflict=ConflictResult(flag=False), analyzer="llm",
                            model="test")
    store.save_analysis(analysis(call_id).model_copy(update={"analysis": result}), tenant=tenant)
    with Session(store.engine) as session:
        session.exec(update(Call).where(Call.id == call_id).values(created_at=when))
        session.commit()


def theme_calls(store: CallStore) -> dict[str, str]:
    """The 32 themed reasons as acme's calls over two weeks: billing calls one a day from the
    first Monday, the other themes every other day (the last on the second Sunday); returns
    call id -> theme."""
    truth = {}
    for theme, reasons in REASONS.items():
        step = 1 if theme == "billing" else 2
        for n, reason in enumerate(reasons):
            call_id = f"{theme.replace(' ', '-')}-{n}"
            store_reason_call(store, call_id, reason, MONDAY + timedelta(days=min(n * step, 13)))
            truth[call_id] = theme
    return truth


@pytest.fixture()
def sqlite_store(tmp_path) -> CallStore:
    """For what does not depend on the database (the store fixture runs both)."""
    store = CallStore.from_url(f"sqlite:///{tmp_path / 'drivers.db'}")
    yield store
    store.engine.dispose()


@pytest.fixture(scope="module")
def drivers(session_settings) -> CallDrivers:
    return CallDrivers.from_settings(session_settings)


@pytest.fixture(scope="module")
def listing_drivers(session_settings) -> CallDrivers:
    """Drivers that list every call as an example (no theme here has more than 20 calls)."""
    wide = session_settings.drivers.model_copy(update={"examples": 20})
    return CallDrivers.from_settings(session_settings.model_copy(update={"drivers": wide}))


@pytest.fixture(scope="module")
def chat_server():
    server = ChatServer().start()
    yield server
    server.stop()


def report_of(store, drivers, *, tenant="acme", **kwargs):
    filters = CallFilter(tenant=tenant, created_after=kwargs.get("created_after"),
                         created_before=kwargs.get("created_before"))
    calls, in_range = store.driver_calls(filters, limit=2000)
    return drivers.report(calls, store, calls_in_range=in_range, **kwargs)


def test_drivers_recover_the_themes_with_counts_trends_and_examples(sqlite_store, listing_drivers):
    truth = theme_calls(sqlite_store)
    # Off-theme reasons, as the offline analyzer took them from real recordings, and a call whose
    # analysis has only a summary.
    store_reason_call(sqlite_store, "wizard", "He began a confused complaint against the wizard, who had vanished "
                      "behind the curtain on the left.", MONDAY + timedelta(days=3))
    store_reason_call(sqlite_store, "summary-only", None, MONDAY + timedelta(days=5),
                      summary="The customer said their new card has not arrived after two weeks.")
    report = report_of(sqlite_store, listing_drivers, bucket="week", created_after=MONDAY - timedelta(hours=10),
                       created_before=datetime(2024, 3, 18, tzinfo=timezone.utc))
    assert report.calls == report.calls_in_range == 34 and not report.truncated
    assert report.labeller == "keyphrases" and report.embedded_calls == 34
    themed = [d for d in report.drivers if not d.other]
    assert len(themed) == 4
    found = set()
    for driver in themed:
        assert len(driver.examples) == driver.calls
        counts = Counter(truth.get(e.call_id) for e in driver.examples)
        theme, n = counts.most_common(1)[0]
        assert n / driver.calls >= 0.85, (driver.label, counts)  # purity
        assert n >= 6, (driver.label, counts)  # recall: at most two of a theme's eight elsewhere
        assert truth.get(driver.examples[0].call_id) == theme  # the most typical call first
        found.add(theme)
        assert driver.share == pytest.approx(driver.calls / 34, abs=1e-4)
        # Weekly trend over the two weeks of the range, empty weeks included.
        assert [b.start.isoformat() for b in driver.trend] == ["2024-03-04", "2024-03-11"]
        assert sum(b.calls for b in driver.trend) == driver.calls
        assert driver.change == driver.trend[1].calls - driver.trend[0].calls
    assert found == set(REASONS)
    assert sum(d.calls for d in themed) >= 28  # at most 4 of the 32 themed calls in "other"
    billing = next(d for d in themed if "bill" in " ".join(d.keyphrases) or "charge" in " ".join(d.keyphrases))
    # Billing calls came one a day from Monday 4 March: seven in the first week, one in the second.
    assert [b.calls for b in billing.trend] in ([7, 1], [7, 0], [6, 1])
    other = report.drivers[-1]
    assert other.other and "wizard" in {e.call_id for e in other.examples}
    assert sum(d.calls for d in report.drivers) == 34
    assert [d.calls for d in themed] == sorted((d.calls for d in themed), reverse=True)


def test_offline_labels_are_keyphrases_of_the_theme(sqlite_store, drivers):
    theme_calls(sqlite_store)
    report = report_of(sqlite_store, drivers, bucket="day")
    words = {d.label: set(" ".join(d.keyphrases).split()) for d in report.drivers}
    expected = [{"bill", "charge", "charged", "overcharged", "invoice"}, {"card", "lost", "stolen"},
                {"address", "moved", "move"}, {"cancel", "close", "account", "subscription"}]
    for wanted in expected:
        assert any(wanted & w for w in words.values()), (wanted, words)
    for driver in report.drivers:
        assert len(driver.examples) == min(3, driver.calls)
        if driver.other:
            assert (driver.label, driver.keyphrases) == ("other", [])
            continue
        assert driver.label == " / ".join(driver.keyphrases[:2])
        assert all(p and p == p.lower() and "customer" not in p for p in driver.keyphrases)
    # Daily buckets run from the first call to the last: 14 days (4 to 17 March).
    assert len(report.drivers[0].trend) == 14 and report.drivers[0].trend[0].start.isoformat() == "2024-03-04"


def test_embeddings_are_cached_per_call_and_text(store, drivers):  # noqa: F811
    theme_calls(store)
    # The database reads the reason out of the stored result, else the summary; blank counts as none.
    store_reason_call(store, "no-text", "  ", MONDAY, summary="")
    store_reason_call(store, "summary-only", None, MONDAY, summary="The customer asked about opening hours.")
    read = {c.call_id: c for c in store.driver_calls(CallFilter(tenant="acme"), limit=100)[0]}
    assert "no-text" not in read and len(read) == 33
    assert (read["summary-only"].source, read["summary-only"].text) == ("summary", "The customer asked about opening hours.")
    assert (read["billing-0"].source, read["billing-0"].text) == ("reason", REASONS["billing"][0])
    assert read["billing-0"].created_at == MONDAY
    store.delete_call("summary-only", tenant="acme")
    first = report_of(store, drivers, bucket="week")
    assert first.embedded_calls == 32
    again = report_of(store, drivers, bucket="week")
    assert again.embedded_calls == 0
    assert [(d.label, d.calls) for d in again.drivers] == [(d.label, d.calls) for d in first.drivers]
    # A re-analysed call with another reason is embedded again; the others are not.
    store.save_analysis(analysis("billing-0").model_copy(update={"analysis": AnalysisResult(
        summary="s", reason="I want to cancel my contract.", conflict=ConflictResult(flag=False), analyzer="llm",
        model="test")}), tenant="acme")
    assert report_of(store, drivers, bucket="week").embedded_calls == 1


def test_tenants_see_only_their_own_drivers(sqlite_store, drivers):
    theme_calls(sqlite_store)
    for n, reason in enumerate(["I forgot my password and cannot log in.", "Please reset my online banking password.",
                                "My login is locked after too many password attempts."]):
        store_reason_call(sqlite_store, f"g{n}", reason, MONDAY, tenant="globex")
    acme = report_of(sqlite_store, drivers, bucket="week")
    globex = report_of(sqlite_store, drivers, tenant="globex", bucket="week")
    acme_ids = {e.call_id for d in acme.drivers for e in d.examples}
    assert acme.calls == 32 and not any(i.startswith("g") for i in acme_ids)
    assert globex.calls == 3 and [d.calls for d in globex.drivers] == [3]
    assert {e.call_id for e in globex.drivers[0].examples} == {"g0", "g1", "g2"}
    assert "password" in globex.drivers[0].keyphrases[0]


def test_max_calls_bounds_the_work_and_says_so(sqlite_store, drivers):
    theme_calls(sqlite_store)
    calls, in_range = sqlite_store.driver_calls(CallFilter(tenant="acme"), limit=10)
    assert in_range == 32 and len(calls) == 10
    assert [c.created_at for c in calls] == sorted((c.created_at for c in calls), reverse=True)
    report = drivers.report(calls, sqlite_store, calls_in_range=in_range)
    assert (report.calls, report.calls_in_range, report.truncated) == (10, 32, True)


def test_the_llm_names_the_drivers_in_one_request(sqlite_store, session_settings, chat_server):
    theme_calls(sqlite_store)
    llm = session_settings.llm.model_copy(update={"base_url": chat_server.base_url, "model": "local-model"})
    named = CallDrivers.from_settings(session_settings.model_copy(update={"llm": llm}))
    chat_server.reset()
    report = report_of(sqlite_store, named, bucket="week")
    assert report.labeller == "llm" and report.model == "local-model" and report.llm_error is None
    assert len(chat_server.requests) == 1
    body = chat_server.requests[0]["body"]
    assert body["response_format"]["json_schema"]["name"] == "call_driver_names"
    themed = [d for d in report.drivers if not d.other]
    assert body["messages"][1]["content"].count("Group ") == len(themed)
    labels = {d.label for d in themed}
    assert all(label.startswith("Calls about ") for label in labels)
    assert {"Calls about card", "Calls about address"} <= labels
    # The endpoint failing leaves the keyphrase labels and says why.
    chat_server.reset("http500", "http500", "http500")
    fast = llm.options.model_copy(update={"max_retries": 2, "backoff_initial_s": 0.01, "backoff_max_s": 0.02})
    failing = CallDrivers.from_settings(session_settings.model_copy(update={"llm": llm.model_copy(update={"options": fast})}))
    fallback = report_of(sqlite_store, failing, bucket="week")
    assert fallback.labeller == "keyphrases" and "HTTP 500" in fallback.llm_error
    assert all(d.label == " / ".join(d.keyphrases[:2]) for d in fallback.drivers if not d.other)


def test_bucket_start_is_the_utc_day_or_the_iso_monday():
    sunday_late = datetime(2024, 3, 10, 23, 30, tzinfo=timezone(timedelta(hours=-2)))  # Monday 11th in UTC
    assert bucket_start(sunday_late, "day").isoformat() == "2024-03-11"
    assert bucket_start(sunday_late, "week").isoformat() == "2024-03-11"
    assert bucket_start(datetime(2024, 3, 10, 12), "week").isoformat() == "2024-03-04"
