"""The vocabulary page and the call page's vocabulary over the HTTP client (no browser, no models):
who added each term (from the version history), what a read-only key sees, and the call page's
wording when not every term fit recognition's prompt or recognition never ran.
tests/console/test_vocabulary_page.py drives the page in a browser."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from callytics_ray.api import create_app
from callytics_ray.api.console.vocabulary_pages import term_rows
from callytics_ray.result import CallAnalysis, VocabularyResult
from callytics_ray.storage import CallStatus
from callytics_ray.storage.keys import create_api_key
from callytics_ray.storage.models import TenantVocabulary
from tests.api.test_audio import IdleRunner

DAY = datetime(2024, 5, 10, 9, 30, tzinfo=timezone.utc)


@pytest.fixture()
def client(api_settings, store):
    with TestClient(create_app(api_settings, store, IdleRunner()), follow_redirects=False) as client:
        yield client


def _sign_in(client: TestClient, store, scopes: tuple[str, ...]) -> None:
    secret, _ = create_api_key(store.engine, tenant="acme", scopes=scopes)
    assert client.post("/console/sign-in", data={"key": secret}).status_code == 303


def _version(version: int, terms: list[str], by: str) -> TenantVocabulary:
    return TenantVocabulary(terms=terms, version=version, created_by=by, created_at=DAY + timedelta(days=version))


def test_each_term_is_dated_by_the_version_that_added_it_last():
    history = [  # newest first, as the store reads them
        _version(5, ["Whittemore", "zentrafy", "Callytics Pro"], "ee"),
        _version(4, ["Whittemore", "Callytics Pro"], "dd"),   # Zentrafy removed here ...
        _version(3, ["Zentrafy", "Whittemore", "Callytics Pro"], "cc"),
        _version(2, ["Zentrafy", "Callytics Pro"], "bb"),
    ]  # (version 1 is past what the history read back)
    rows = {r.term: r for r in term_rows(history)}
    assert list(rows) == ["Whittemore", "zentrafy", "Callytics Pro"]
    assert (rows["zentrafy"].added_in, rows["zentrafy"].added_by) == (5, "ee")  # ... and added back in 5
    assert (rows["Whittemore"].added_in, rows["Whittemore"].added_at, rows["Whittemore"].earlier) == (
        3, DAY + timedelta(days=3), False)
    assert (rows["Callytics Pro"].added_in, rows["Callytics Pro"].earlier) == (2, True)  # in 2 or before
    assert term_rows([_version(1, ["Zentrafy"], "aa")])[0].earlier is False
    assert term_rows([]) == []


def test_the_page_lists_the_terms_and_only_an_admin_gets_the_controls(client, store):
    store.put_vocabulary(["Zentrafy"], tenant="acme", created_by="aa11")
    store.put_vocabulary(["Zentrafy", "Whittemore"], tenant="acme", created_by="bb22")
    store.put_vocabulary(["Globex One"], tenant="globex", created_by="cc33")
    _sign_in(client, store, ("read",))
    page = client.get("/console/vocabulary")
    assert page.status_code == 200
    assert re.findall(r'<tr data-term="([^"]+)"', page.text) == ["Zentrafy", "Whittemore"]
    assert "Globex One" not in page.text and "Version 2" in page.text
    assert 'id="vocabulary-read-only"' in page.text and 'id="vocabulary-add"' not in page.text
    assert "remove-term" not in page.text and "move-term" not in page.text and "vocabulary.js" not in page.text
    _sign_in(client, store, ("read", "admin"))
    page = client.get("/console/vocabulary", params={"saved": 2}).text
    assert 'id="vocabulary-add"' in page and page.count('class="remove-term"') == 2
    assert re.findall(r'class="move-term" data-term="([^"]+)"', page) == ["Whittemore"]  # the first stays
    assert "Saved as version 2." in page
    # A stale ?saved= (a version since replaced) says nothing; a bad one is refused, not a 500.
    assert "Saved as" not in client.get("/console/vocabulary", params={"saved": 1}).text
    assert client.get("/console/vocabulary", params={"saved": "x"}).status_code == 422


def test_a_term_with_markup_is_shown_as_text(client, store):
    store.put_vocabulary(['<b onclick="x()">Zen</b>'], tenant="acme", created_by="aa11")
    _sign_in(client, store, ("read", "admin"))
    page = client.get("/console/vocabulary").text
    assert "<b onclick" not in page and page.count("&lt;b onclick=&#34;x()&#34;&gt;Zen&lt;/b&gt;") == 4  # row, cell, button, its label


@pytest.mark.parametrize("vocabulary,chips,note", [
    (VocabularyResult(terms=["A1", "B2", "C3", "D4"], tenant_version=7, recognized_with=["A1", "B2"]),
     ["A1", "B2"], "The first 2 of the call's 4 terms (the rest did not fit recognition's prompt): the upload's own, if any, "
     "then the tenant's vocabulary (version 7)."),
    (VocabularyResult(terms=["A1"], tenant_version=0), [], "1 term (the upload's own; the tenant had no vocabulary), not used: recognition has not finished."),
    (VocabularyResult(terms=["A1", "B2"], tenant_version=0, recognized_with=["A1", "B2"]), ["A1", "B2"],
     "All 2 terms of the call: the upload's own; the tenant had no vocabulary."),
])
def test_the_call_page_says_which_terms_recognition_got(client, store, vocabulary, chips, note):
    store.save_analysis(CallAnalysis(call_id="c-1", vocabulary=vocabulary, created_at=DAY), tenant="acme",
                        status=CallStatus.COMPLETED)
    _sign_in(client, store, ("read",))
    page = client.get("/console/calls/c-1").text
    section = page[page.index('id="call-vocabulary"'):]
    section = section[:section.index("</section>")]
    assert re.findall(r'<li class="chip">([^<]+)</li>', section) == chips
    assert note in " ".join(section.split())


def test_a_call_without_terms_shows_no_vocabulary(client, store):
    store.save_analysis(CallAnalysis(call_id="c-2", created_at=DAY), tenant="acme", status=CallStatus.COMPLETED)
    _sign_in(client, store, ("read",))
    assert 'id="call-vocabulary"' not in client.get("/console/calls/c-2").text
