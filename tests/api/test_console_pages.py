"""The console's pages over the HTTP client (no browser, no models): auth, tenancy, what they render.

tests/console/ drives the same pages in a real browser on a really analysed call.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from callytics_ray.api import create_app
from callytics_ray.result import CallAnalysis, SegmentResult, WordResult
from callytics_ray.storage.keys import create_api_key
from tests.api.test_audio import IdleRunner


@pytest.fixture()
def client(api_settings, store):
    with TestClient(create_app(api_settings, store, IdleRunner()), follow_redirects=False) as client:
        yield client


def _words(text: str, start: float) -> list[WordResult]:
    return [WordResult(start=start + i * 0.5, end=start + i * 0.5 + 0.4, text=f" {w}", probability=0.9)
            for i, w in enumerate(text.split())]


@pytest.fixture()
def call_id(store) -> str:
    record, _ = store.create_call(tenant="acme", source_name="refund.wav", audio=b"RIFF....", content_type="audio/wav")
    segments = [
        SegmentResult(start=0.5, end=2.0, text="Thanks for calling <support>", speaker="SPEAKER_00", role="agent",
                      words=_words("Thanks for calling <support>", 0.5)),
        SegmentResult(start=2.5, end=4.0, text="I want a refund please", speaker="SPEAKER_01", role="customer",
                      words=_words("I want a refund please", 2.5)),
    ]
    store.save_analysis(CallAnalysis(call_id=record.id, language="en", segments=segments), tenant="acme")
    return record.id


def _sign_in(client: TestClient, store, tenant: str = "acme") -> str:
    secret, _ = create_api_key(store.engine, tenant=tenant, scopes=("read",))
    response = client.post("/console/sign-in", data={"key": secret, "next": "/console/calls"})
    assert response.status_code == 303 and response.headers["location"] == "/console/calls"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age" not in cookie
    return secret


def test_without_a_key_every_page_is_the_sign_in_page(client, call_id):
    for path in ("/console/calls", f"/console/calls/{call_id}", "/console/calls?q=refund"):
        response = client.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/console/sign-in?next=")
        assert b"refund" not in response.content
    htmx = client.get("/console/calls", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/console/sign-in")
    page = client.get("/console/sign-in")
    assert page.status_code == 200 and 'id="sign-in-form"' in page.text


def test_a_bad_key_is_refused_and_next_cannot_leave_the_console(client, store):
    bad = client.post("/console/sign-in", data={"key": "cr_1234_nope", "next": "/console/calls"})
    assert bad.status_code == 401 and "not valid" in bad.text and "set-cookie" not in bad.headers
    secret, _ = create_api_key(store.engine, tenant="acme", scopes=("read",))
    for target in ("https://evil.example/", "//evil.example/x", "/v1/calls", "/console/sign-in"):
        response = client.post("/console/sign-in", data={"key": secret, "next": target})
        assert response.headers["location"] == "/console/calls"


def test_the_calls_table_and_search(client, store, call_id):
    _sign_in(client, store)
    page = client.get("/console/calls")
    assert page.status_code == 200 and f'data-call-id="{call_id}"' in page.text and "refund.wav" in page.text
    # Empty selects mean "any"; the htmx request gets the table alone.
    rows = client.get("/console/calls", params={"q": "refund", "status": "", "sentiment": ""},
                      headers={"HX-Request": "true"})
    assert rows.status_code == 200 and "<html" not in rows.text
    assert "<mark>refund</mark>" in rows.text and f'data-call-id="{call_id}"' in rows.text
    none = client.get("/console/calls", params={"q": "zebra"}).text
    assert f'data-call-id="{call_id}"' not in none and "No calls match" in none


def test_the_call_page_escapes_text_and_links_words_to_times(client, store, call_id):
    _sign_in(client, store)
    page = client.get(f"/console/calls/{call_id}").text
    assert f'src="/v1/calls/{call_id}/audio"' in page
    assert "&lt;support&gt;" in page and "<support>" not in page
    assert page.index('data-role="agent"') < page.index('data-role="customer"')
    assert 'class="w" data-seek="2.5"' in page
    assert '>calling</span> <span class="w"' in page  # words stay words: a space between them


def test_another_tenants_call_is_not_found(client, store, call_id):
    _sign_in(client, store, tenant="globex")
    response = client.get(f"/console/calls/{call_id}")
    assert response.status_code == 404 and 'id="not-found"' in response.text and "refund" not in response.text
    assert f'data-call-id="{call_id}"' not in client.get("/console/calls").text


def test_sign_out_clears_the_session(client, store, call_id):
    _sign_in(client, store)
    response = client.post("/console/sign-out")
    assert response.status_code == 303 and response.headers["location"] == "/console/sign-in"
    client.cookies.clear()  # what the browser does with the expired cookie
    assert client.get("/console/calls").status_code == 303


def test_static_assets_are_served_and_not_in_openapi(client):
    assert client.get("/console/static/console.js").status_code == 200
    assert client.get("/console/static/console.css").status_code == 200
    assert not [p for p in client.get("/openapi.json").json()["paths"] if p.startswith("/console")]


def test_the_call_page_lists_the_alerts_the_call_sent(client, store, call_id):
    from callytics_ray.alerts import AlertSubscription, NewDelivery

    store.put_alert(AlertSubscription(name="crm", categories=["refunds"], url="http://127.0.0.1:9/hook",
                                      secret="0123456789abcdef"), tenant="acme")
    _sign_in(client, store)
    assert 'id="alerts"' not in client.get(f"/console/calls/{call_id}").text  # none sent: no list
    store.add_deliveries([NewDelivery(id="d-1", tenant="acme", alert="crm", call_id=call_id, category_set="topics",
                                      category="refunds", payload_json="{}")])
    page = client.get(f"/console/calls/{call_id}").text
    assert 'id="alerts"' in page and 'data-alert="crm" data-category="refunds"' in page
    assert '<span class="alert-status">pending</span>' in page and "0 attempts" in page
    assert "127.0.0.1:9" not in page  # the webhook's address is for admins (the delivery log), not reviewers
def test_the_call_page_says_what_the_player_plays(client, store, call_id):
    from datetime import datetime, timezone

    from callytics_ray.pipeline.redacted_audio import unavailable
    from callytics_ray.storage.models import AppliedSpan, AudioRedaction

    _sign_in(client, store)

    def note() -> str:
        page = client.get(f"/console/calls/{call_id}").text
        return page.split('id="recording-note"', 1)[1].split("</p>", 1)[0]

    # A call analysed before redacted copies existed has none; one in progress gets one.
    assert "The recording is not played: no redacted copy was made." in note()
    store.set_status(call_id, "processing")
    assert "plays once its PII is found" in note()
    copy = AudioRedaction(state="redacted", created_at=datetime.now(timezone.utc), mode="bleep",
                          applied=[AppliedSpan(start_s=6.3, end_s=12.6)], content_type="audio/flac")
    store.save_audio_redaction(call_id, copy, b"fLaC")
    assert "PII bleeped in 1 place of this recording." in note()
    store.save_audio_redaction(call_id, unavailable("PII redaction failed (boom)"))
    assert "The recording is not played: PII redaction failed (boom)" in note()
