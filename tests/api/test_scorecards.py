"""Rubrics and category sets over HTTP (versions, 422, tenants, scopes) and a real call's scorecard
and categories, computed when it completes and re-scored on demand."""

from __future__ import annotations

import pytest

from fastapi.testclient import TestClient

from bench.stored_calls import store_copies
from callytics_ray.api import LocalRunner, create_app
from tests.api.conftest import error, upload
from tests.nlp.conftest import chat_server, llm_server  # noqa: F401 (the server fixtures)
from tests.nlp.llm_server import quote_between, quoting_judge, with_llm

ADMIN = ("read", "admin")

RUBRIC = {"description": "two checks", "items": [
    {"id": "greets", "description": "agent greets in the first 15 s", "weight": 2,
     "check": {"kind": "rule", "rule": {"kind": "phrase", "speaker": "agent", "phrases": ["hello"],
                                        "window": {"first_s": 15}}}},
    {"id": "closing", "description": "judged by an LLM", "check": {"kind": "llm", "question": "closed well?"}},
]}
CATEGORIES = {"categories": [{"name": "refund", "rule": {"kind": "phrase", "phrases": ["refund"]}}]}


def test_putting_a_rubric_makes_versions_that_read_back(client, key_for):
    admin = key_for("acme", ADMIN)
    [builtin] = client.get("/v1/rubrics", headers=admin).json()["items"]
    assert (builtin["name"], builtin["version"], builtin["builtin"]) == ("contact-center", 0, True)

    first = client.put("/v1/rubrics/qa", headers=admin, json=RUBRIC)
    assert first.status_code == 201, first.text
    assert first.headers["Location"] == "/v1/rubrics/qa?version=1"
    assert (first.json()["name"], first.json()["version"], first.json()["builtin"]) == ("qa", 1, False)
    changed = {**RUBRIC, "items": RUBRIC["items"][:1]}
    assert client.put("/v1/rubrics/qa", headers=admin, json=changed).json()["version"] == 2

    latest = client.get("/v1/rubrics/qa", headers=admin).json()
    assert latest["version"] == 2 and [i["id"] for i in latest["items"]] == ["greets"]
    old = client.get("/v1/rubrics/qa", headers=admin, params={"version": 1}).json()
    assert [i["id"] for i in old["items"]] == ["greets", "closing"]
    assert old["items"][0]["check"]["rule"]["window"] == {"first_s": 15.0}
    assert [v["version"] for v in client.get("/v1/rubrics/qa/versions", headers=admin).json()["items"]] == [1, 2]
    assert [(r["name"], r["version"]) for r in client.get("/v1/rubrics", headers=admin).json()["items"]] == [
        ("qa", 2)]
    # What a GET returns can be sent back as it is: a new version of the same content.
    again = client.put("/v1/rubrics/qa", headers=admin, json=old)
    assert again.status_code == 201 and again.json()["version"] == 3 and again.json()["items"] == old["items"]
    # The built-in rubric stays readable as a starting point.
    assert client.get("/v1/rubrics/contact-center", headers=admin).json()["builtin"] is True
    assert error(client.get("/v1/rubrics/qa", headers=admin, params={"version": 9}))[:2] == (404, "not_found")
    assert error(client.get("/v1/rubrics/nope", headers=admin))[:2] == (404, "not_found")


@pytest.mark.parametrize("path, body, where", [
    ("/v1/rubrics/qa", {"items": [{"id": "a", "description": "d", "check": {"kind": "guess"}}]}, "body.items.0.check"),
    ("/v1/rubrics/qa", {"items": [{"id": "a", "description": "d", "check": {"kind": "llm", "question": "q"}}] * 2},
     "repeated: a"),
    ("/v1/rubrics/qa", {"items": []}, "body.items: List should have at least 1 item"),
    ("/v1/rubrics/qa", {"name": "other", **RUBRIC}, "the body names 'other', the path 'qa'"),
    ("/v1/rubrics/bad%20name", RUBRIC, "path.name"),
    ("/v1/rubrics/qa", {"items": [{"id": "a", "description": "d", "check": {
        "kind": "rule", "rule": {"kind": "phrase", "phrases": ["x"], "window": {"first_s": 1, "last_s": 1}}}}]},
     "a window is one of"),
    ("/v1/categories/topics", {"categories": [{"name": "a", "rule": {"kind": "metric", "metric": "mood",
                                                                        "op": ">", "value": 1}}]},
     "body.categories.0.rule.metric.metric"),
])
def test_an_invalid_rubric_or_category_set_is_422_with_the_reason(client, key_for, path, body, where):
    admin = key_for("acme", ADMIN)
    status, code, message = error(client.put(path, headers=admin, json=body))
    assert (status, code) == (422, "validation_error") and where in message, message
    assert client.get("/v1/rubrics", headers=admin).json()["items"][0]["builtin"] is True  # nothing stored


def test_category_sets_are_versioned_too(client, key_for):
    admin = key_for("acme", ADMIN)
    assert [s["name"] for s in client.get("/v1/categories", headers=admin).json()["items"]] == ["contact-center"]
    put = client.put("/v1/categories/topics", headers=admin, json=CATEGORIES)
    assert put.status_code == 201 and put.json()["version"] == 1
    assert client.put("/v1/categories/topics", headers=admin, json=CATEGORIES).json()["version"] == 2
    assert [(s["name"], s["version"], s["size"]) for s in client.get("/v1/categories", headers=admin).json()["items"]] \
        == [("topics", 2, 1)]
    assert client.get("/v1/categories/topics", headers=admin, params={"version": 1}).json()["categories"][0]["name"] \
        == "refund"
    assert [v["version"] for v in client.get("/v1/categories/topics/versions", headers=admin).json()["items"]] == [1, 2]


def test_rubrics_are_per_tenant(client, key_for):
    acme, globex = key_for("acme", ADMIN), key_for("globex", ADMIN)
    client.put("/v1/rubrics/qa", headers=acme, json=RUBRIC)
    client.put("/v1/categories/topics", headers=acme, json=CATEGORIES)
    for path in ("/v1/rubrics/qa", "/v1/rubrics/qa/versions", "/v1/categories/topics"):
        assert error(client.get(path, headers=globex))[:2] == (404, "not_found"), path
    assert [r["name"] for r in client.get("/v1/rubrics", headers=globex).json()["items"]] == ["contact-center"]
    assert client.put("/v1/rubrics/qa", headers=globex, json=RUBRIC).json()["version"] == 1


def test_changing_rubrics_needs_admin_and_reading_needs_a_key(client, key_for):
    reader, submitter = key_for("acme", ("read",)), key_for("acme", ("submit", "read"))
    for headers in (reader, submitter):
        status, code, message = error(client.put("/v1/rubrics/qa", headers=headers, json=RUBRIC))
        assert (status, code) == (403, "forbidden") and "'admin'" in message
        assert error(client.put("/v1/categories/t", headers=headers, json=CATEGORIES))[0] == 403
    assert client.get("/v1/rubrics", headers=reader).status_code == 200
    for method, path in (("GET", "/v1/rubrics"), ("GET", "/v1/rubrics/qa"), ("PUT", "/v1/rubrics/qa"),
                         ("GET", "/v1/categories"), ("GET", "/v1/calls/x/scorecard"),
                         ("GET", "/v1/calls/x/categories"), ("POST", "/v1/calls/x/scorecard:rescore"),
                         ("GET", "/v1/scorecards/agents?rubric=qa")):
        assert error(client.request(method, path, json=RUBRIC))[:2] == (401, "unauthorized"), path
    assert error(client.post("/v1/calls/x/scorecard:rescore", headers=reader))[0] == 403


def test_a_call_still_running_or_never_scored(client, key_for, store):
    reader = key_for("acme", ("read", "submit"))
    queued, _ = store.create_call(tenant="acme", source_name="q.wav")  # no audio: stays queued
    status, code, _ = error(client.get(f"/v1/calls/{queued.id}/scorecard", headers=reader))
    assert (status, code) == (409, "not_ready")
    assert error(client.post(f"/v1/calls/{queued.id}/scorecard:rescore", headers=reader))[:2] == (409, "not_scorable")
    assert error(client.get("/v1/calls/missing/categories", headers=reader))[:2] == (404, "not_found")


def test_the_openapi_document_describes_the_routes(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert paths["/v1/rubrics/{name}"]["put"]["summary"] == "Store a new version of a rubric"
    assert "422" in paths["/v1/rubrics/{name}"]["put"]["responses"]
    assert paths["/v1/calls/{call_id}/scorecard"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] \
        == {"$ref": "#/components/schemas/CallScorecards"}
    assert {"/v1/categories/{name}/versions", "/v1/calls/{call_id}/scorecard:rescore", "/v1/scorecards/agents",
            "/v1/calls/{call_id}/categories"} <= set(paths)


# --- a real call -------------------------------------------------------------------------------------

def _words(result: dict) -> dict[str, float]:
    """Each spoken word (lower case, no punctuation) and when it starts."""
    return {w["text"].strip(" .,!?").lower(): w["start"] for s in result["segments"] for w in s["words"]}


@pytest.mark.models
def test_a_completed_call_has_its_scorecard_and_categories_then_is_rescored(
        make_client, key_for, api_settings, stereo_bytes):
    client = make_client(api_settings)
    acme, other = key_for("acme", ("submit", "read", "admin")), key_for("globex", ("submit", "read", "admin"))
    done = upload(client, acme, stereo_bytes, agent_id="agent-7", params={"wait": "true"})
    assert done.status_code == 200 and done.json()["status"] == "completed", done.text
    call_id, result = done.json()["id"], done.json()["result"]
    words = _words(result)

    # Scored on the built-in rubric while the tenant has none. The recording (agent: "He began a
    # confused complaint against the wizard ..."; customer: "The horizon seems extremely distant.")
    # has no greeting and no offer of further help.
    [card] = client.get(f"/v1/calls/{call_id}/scorecard", headers=acme).json()["scorecards"]
    statuses = {i["id"]: i["status"] for i in card["items"]}
    assert (card["rubric"], card["rubric_version"]) == ("contact-center", 0)
    assert statuses["greeting"] == "fail" and statuses["further-help"] == "fail"
    assert statuses["resolution"] == "not_assessed" and statuses["identity-before-account"] == "not_applicable"
    assert card["score"] < 100

    # The tenant's own rubric and categories, then a re-score.
    rubric = {"items": [{"id": "wizard", "description": "agent mentions the wizard early", "check": {
        "kind": "rule", "rule": {"kind": "phrase", "speaker": "agent", "phrases": ["wizard"], "window": {"first_s": 5}}}}]}
    categories = {"categories": [
        {"name": "complaint", "rule": {"kind": "phrase", "speaker": "agent", "phrases": ["complaint"]}},
        {"name": "far-horizon", "rule": {"kind": "near", "speaker": "customer", "phrases": ["horizon"],
                                         "near": ["distant"], "within_words": 3}},
        {"name": "horizon-by-agent", "rule": {"kind": "phrase", "speaker": "agent", "phrases": ["horizon"]}},
    ]}
    assert client.put("/v1/rubrics/story", headers=acme, json=rubric).status_code == 201
    assert client.put("/v1/categories/story", headers=acme, json=categories).status_code == 201
    rescored = client.post(f"/v1/calls/{call_id}/scorecard:rescore", headers=acme)
    assert rescored.status_code == 200, rescored.text
    [card] = rescored.json()["scorecards"]
    assert (card["rubric"], card["rubric_version"], card["score"]) == ("story", 1, 100.0)
    [evidence] = card["items"][0]["evidence"]
    assert evidence["role"] == "agent" and evidence["start"] == words["wizard"]

    matched = client.get(f"/v1/calls/{call_id}/categories", headers=acme).json()["categories"]
    assert [m["category"] for m in matched] == ["complaint", "far-horizon"]
    assert matched[0]["evidence"][0]["start"] == words["complaint"]
    assert matched[1]["evidence"][0]["text"].lower().startswith("horizon")

    agents = client.get("/v1/scorecards/agents", headers=acme, params={"rubric": "story"}).json()["items"]
    assert [(a["agent_id"], a["calls"], a["mean_score"]) for a in agents] == [("agent-7", 1, 100.0)]
    for method, path in (("GET", f"/v1/calls/{call_id}/scorecard"), ("GET", f"/v1/calls/{call_id}/categories"),
                         ("POST", f"/v1/calls/{call_id}/scorecard:rescore")):
        assert error(client.request(method, path, headers=other))[:2] == (404, "not_found"), path
    assert client.get("/v1/scorecards/agents", headers=other, params={"rubric": "story"}).json()["items"] == []


@pytest.mark.models
def test_a_scoring_failure_is_recorded_and_the_call_stays_completed(
        make_client, key_for, api_settings, store, stereo_bytes, monkeypatch):
    def broken(*, tenant):
        raise RuntimeError("rubric store unreachable")

    monkeypatch.setattr(store, "rubrics_in_force", broken)
    client = make_client(api_settings)
    acme = key_for("acme", ("submit", "read"))
    done = upload(client, acme, stereo_bytes, params={"wait": "true"})
    assert done.status_code == 200 and done.json()["status"] == "completed", done.text
    call_id = done.json()["id"]
    assert done.json()["result"]["segments"]
    scored = client.get(f"/v1/calls/{call_id}/scorecard", headers=acme).json()
    assert scored["error"] == "RuntimeError: rubric store unreachable" and scored["scorecards"] == []
    assert client.get(f"/v1/calls/{call_id}", headers=acme).json()["status"] == "completed"
    monkeypatch.undo()
    rescored = client.post(f"/v1/calls/{call_id}/scorecard:rescore", headers=acme).json()
    assert "error" not in rescored and rescored["scorecards"][0]["rubric"] == "contact-center"


JUDGED = {"items": [{"id": "complains", "description": "the agent voices the complaint",
                     "check": {"kind": "llm", "question": "Does the agent complain about the wizard?"}}]}


def assert_judged_card(card: dict, words: dict[str, dict]) -> None:
    """The JUDGED rubric's card: a pass whose evidence is the quoted words, their seconds the stored ones."""
    [item] = card["items"]
    assert (item["status"], card["score"]) == ("pass", 100.0), item["reason"]
    [evidence] = item["evidence"]
    assert (evidence["kind"], evidence["role"]) == ("phrase", "agent")
    assert (evidence["start"], evidence["end"]) == (words["complaint"]["start"], words["wizard"]["end"])
    assert evidence["text"].lower().startswith("complaint")


def test_rescoring_judges_an_llm_item_with_its_quote(api_settings, store, key_for, llm_server):
    [call_id] = store_copies(store, 1)
    llm_server.judge_reply = quoting_judge(("pass", "wizard", quote_between("complaint", "wizard")))
    runner = LocalRunner(backend=None, store=store, settings=api_settings)
    acme = key_for("acme", ("submit", "read", "admin"))
    with TestClient(create_app(with_llm(api_settings, llm_server.base_url), store, runner)) as client:
        assert client.put("/v1/rubrics/story", headers=acme, json=JUDGED).status_code == 201
        rescored = client.post(f"/v1/calls/{call_id}/scorecard:rescore", headers=acme)
    assert rescored.status_code == 200, rescored.text
    words = {w.text.strip(" .,!?").lower(): w.model_dump() for s in store.get_analysis(call_id).segments
             for w in s.words}
    assert_judged_card(rescored.json()["scorecards"][0], words)


@pytest.mark.models
@pytest.mark.slow
def test_a_finished_call_has_its_llm_item_judged(make_client, key_for, api_settings, stereo_bytes, llm_server):
    llm_server.judge_reply = quoting_judge(("pass", "wizard", quote_between("complaint", "wizard")))
    client = make_client(with_llm(api_settings, llm_server.base_url))
    acme = key_for("acme", ("submit", "read", "admin"))
    assert client.put("/v1/rubrics/story", headers=acme, json=JUDGED).status_code == 201
    done = upload(client, acme, stereo_bytes, params={"wait": "true"})
    assert done.status_code == 200 and done.json()["status"] == "completed", done.text
    words = {w["text"].strip(" .,!?").lower(): w for s in done.json()["result"]["segments"] for w in s["words"]}
    [card] = client.get(f"/v1/calls/{done.json()['id']}/scorecard", headers=acme).json()["scorecards"]
    assert_judged_card(card, words)
    assert len(llm_server.requests) == 1
