"""The calls table and the upload page over the HTTP client (no browser, no models): what they
render for filters, sort, pages, live calls and scopes. tests/console/ drives them in a browser."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlsplit

import pytest
from fastapi.testclient import TestClient

from callytics_ray.api import create_app
from callytics_ray.api.console.calls_query import TableQuery
from callytics_ray.api.console.flags import FLAG_LABELS
from callytics_ray.api.stored import SubmittedOptions
from callytics_ray.headline import CallFlag
from callytics_ray.result import AudioResult, CallAnalysis, SegmentResult
from callytics_ray.storage import CallSort, CallStatus
from callytics_ray.storage.keys import create_api_key
from tests.api.test_audio import IdleRunner

DAY = datetime(2024, 5, 10, 9, 30, tzinfo=timezone.utc)


@pytest.fixture()
def client(api_settings, store):
    with TestClient(create_app(api_settings, store, IdleRunner()), follow_redirects=False) as client:
        yield client


def _sign_in(client: TestClient, store, tenant: str = "acme", scopes: tuple[str, ...] = ("read",)) -> None:
    secret, _ = create_api_key(store.engine, tenant=tenant, scopes=scopes)
    assert client.post("/console/sign-in", data={"key": secret}).status_code == 303


def _save(store, call_id: str, *, duration_s: float, days_ago: int, status: str = CallStatus.COMPLETED,
          errors: dict[str, str] | None = None, tenant: str = "acme") -> None:
    audio = AudioResult(duration_s=duration_s, sample_rate_hz=8000, channels=1, codec="pcm_s16le", layout="mono",
                        snr_db=30, speech_ratio=0.7, noise_reduced=False, gain_db=0.0)
    segments = [SegmentResult(start=0.0, end=2.0, text=f"call {call_id} about a refund", speaker="SPEAKER_00")]
    store.save_analysis(CallAnalysis(call_id=call_id, language="en", audio=audio, segments=segments, errors=errors,
                                     created_at=DAY - timedelta(days=days_ago)), tenant=tenant, status=status)


@pytest.fixture()
def calls(store) -> dict[str, float]:
    """acme's calls (id -> duration), one a day back from DAY; "c-4" is partial with a failed stage."""
    durations = {"c-0": 40.0, "c-1": 10.0, "c-2": 75.0, "c-3": 25.0, "c-4": 60.0}
    for days_ago, (call_id, seconds) in enumerate(durations.items()):
        failed = call_id == "c-4"
        _save(store, call_id, duration_s=seconds, days_ago=days_ago, errors={"sentiment": "boom"} if failed else None,
              status=CallStatus.PARTIAL if failed else CallStatus.COMPLETED)
    _save(store, "theirs", duration_s=30.0, days_ago=0, tenant="globex")
    return durations


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr data-call-id="([^"]+)"', html)


def test_sort_and_pages_are_in_the_links(client, store, calls):
    _sign_in(client, store)
    page = client.get("/console/calls", params={"sort": "duration_s", "limit": 2, "offset": 2}).text
    by_length = sorted(calls, key=calls.get)
    assert _rows(page) == by_length[2:4]
    assert re.search(r'id="call-count">3–4 of 5 calls', page)
    assert re.search(r'<th scope="col" aria-sort="ascending">\s*<a class="sort" id="sort-duration_s" '
                     r'href="/console/calls\?sort=-duration_s&amp;limit=2"', page)  # a click reverses it, page 1
    assert 'rel="prev" href="/console/calls?sort=duration_s&amp;limit=2"' in page
    assert 'rel="next" href="/console/calls?sort=duration_s&amp;limit=2&amp;offset=4"' in page
    # Unsorted, the table is newest first and says so on the date column.
    default = client.get("/console/calls").text
    assert _rows(default) == list(calls) and '<th scope="col" aria-sort="descending">' in default
    assert 'class="pager"' not in default  # one page: no pager


def test_filters_narrow_the_table_and_bad_values_are_ignored(client, store, calls):
    _sign_in(client, store)
    assert _rows(client.get("/console/calls", params={"min_duration_s": "30", "max_duration_s": "65"}).text) == \
        ["c-0", "c-4"]
    # Whole days, both included.
    one_day = (DAY - timedelta(days=2)).date().isoformat()
    assert _rows(client.get("/console/calls", params={"date_from": one_day, "date_to": one_day}).text) == ["c-2"]
    assert _rows(client.get("/console/calls", params={"status": "partial"}).text) == ["c-4"]
    assert _rows(client.get("/console/calls", params={"flag": "stage_error"}).text) == ["c-4"]
    lenient = client.get("/console/calls", params={"min_duration_s": "abc", "status": "nope", "sort": "tenant",
                                                   "limit": "0", "date_from": "yesterday"})
    assert lenient.status_code == 200 and _rows(lenient.text) == list(calls)


def test_flags_have_labels_and_explanations(client, store, calls):
    _sign_in(client, store)
    page = client.get("/console/calls", params={"flag": "stage_error"}).text
    label = FLAG_LABELS[CallFlag.STAGE_ERROR.value]
    assert f'data-flag="stage_error" title="{label.explanation}">{label.label}</span>' in page
    assert set(FLAG_LABELS) == {f.value for f in CallFlag}  # every flag is worded


def test_htmx_gets_the_table_and_the_canonical_url(client, store, calls):
    _sign_in(client, store)
    form = {"q": "", "status": "", "sentiment": "", "min_duration_s": "20", "sort": "-duration_s", "limit": "20"}
    rows = client.get("/console/calls", params=form, headers={"HX-Request": "true"})
    assert "<html" not in rows.text and _rows(rows.text) == ["c-2", "c-4", "c-0", "c-3"]
    assert rows.headers["HX-Push-Url"] == "/console/calls?min_duration_s=20&sort=-duration_s"
    assert 'id="sort-input" name="sort" value="-duration_s" hx-swap-oob="true"' in rows.text
    restore = client.get("/console/calls", params=form, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text and 'id="min_duration_s" name="min_duration_s" type="number"' in restore.text
    assert 'value="20"></div>' in restore.text


def test_a_running_call_makes_the_table_poll_until_it_finishes(client, store, calls):
    _sign_in(client, store)
    assert 'id="live-poll"' not in client.get("/console/calls").text
    store.create_call(tenant="acme", call_id="running", source_name="running.wav")
    store.set_status("running", CallStatus.PROCESSING)
    page = client.get("/console/calls").text
    assert re.search(r'<div id="live-poll" hidden hx-get="/console/calls" hx-trigger="every 2s"', page)
    assert 'class="status status-processing live"' in page
    poll = client.get("/console/calls", headers={"HX-Request": "true", "HX-Trigger": "live-poll"})
    assert "HX-Push-Url" not in poll.headers and 'id="live-poll"' in poll.text  # a poll adds no history entry
    # Off the shown page, a running call does not keep this page polling.
    assert 'id="live-poll"' not in client.get("/console/calls", params={"status": "completed"}).text
    store.set_status("running", CallStatus.FAILED, error="boom")
    assert 'id="live-poll"' not in client.get("/console/calls", headers={"HX-Request": "true"}).text


def test_another_tenants_calls_are_not_in_the_table(client, store, calls):
    _sign_in(client, store, tenant="globex")
    assert _rows(client.get("/console/calls", params={"sort": "duration_s"}).text) == ["theirs"]


def test_the_upload_page_offers_every_option_to_a_submitter(client, store):
    assert client.get("/console/upload").headers["location"].startswith("/console/sign-in?next=%2Fconsole%2Fupload")
    _sign_in(client, store, scopes=("read", "submit"))
    page = client.get("/console/upload").text
    assert 'id="upload-form"' in page and 'id="files" class="file-input" type="file" multiple' in page
    for name in SubmittedOptions.model_fields:
        assert f'name="{name}"' in page, name
    assert 'pattern="[a-z]{2,3}"' in page and 'min="1" max="32"' in page
    assert '<option value="dual">dual</option>' in page
    assert '<script src="/console/static/upload.js" defer></script>' in page
    assert client.get("/console/static/upload.js").status_code == 200
    assert '<a href="/console/upload" aria-current="page">Upload</a>' in page


def test_a_read_only_key_sees_why_instead_of_the_form(client, store):
    _sign_in(client, store, tenant="globex", scopes=("read",))
    page = client.get("/console/upload")
    assert page.status_code == 200 and 'id="upload-forbidden"' in page.text
    assert 'id="upload-form"' not in page.text and 'type="file"' not in page.text
    assert "submit" in page.text and "globex" in page.text


@pytest.mark.parametrize("params", [
    {},
    {"q": "refund", "sort": "agent_talk_share"},
    {"date_from": "2024-05-01", "date_to": "2024-05-10", "flag": "pii", "min_duration_s": "12.5", "limit": "10",
     "offset": "30", "status": "failed", "sentiment": "negative", "agent_id": "ana", "language": "ko"},
])
def test_the_canonical_url_reads_back_as_the_same_table(params):
    query = TableQuery.from_params(params)
    again = TableQuery.from_params(dict(parse_qsl(urlsplit(query.url()).query)))
    assert again == query


def test_the_table_query_maps_days_and_sorts_to_the_api():
    query = TableQuery.from_params({"date_from": "2024-05-01", "date_to": "2024-05-01", "sort": "-status"})
    args = query.api_arguments()
    assert args["created_after"] == datetime(2024, 5, 1, tzinfo=timezone.utc)
    assert args["created_before"] == datetime(2024, 5, 2, tzinfo=timezone.utc)
    assert args["sort"] is CallSort.STATUS_DESC and query.date_from == date(2024, 5, 1)
    # A search without a sort is by relevance: no column claims the order.
    assert TableQuery.from_params({"q": "refund"}).aria_sort("created_at") is None
    assert TableQuery.from_params({}).sort_url("created_at") == "/console/calls?sort=created_at"
    assert TableQuery.from_params({"sort": "duration_s", "offset": "40"}).sort_url("duration_s") == \
        "/console/calls?sort=-duration_s"
