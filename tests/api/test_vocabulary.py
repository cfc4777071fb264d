"""A tenant's custom vocabulary over HTTP (versions, 422, tenants, scopes) and a real call uploaded
with a `vocabulary` field: recognised with its terms and its tenant's, recorded in its result,
matched by a category, and retried with the same terms after the tenant changed its list."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import soundfile

from callytics_ray.pipeline import LocalStages
from callytics_ray.vocabulary import MAX_REQUEST_TERMS, MAX_TENANT_TERMS
from tests.api.conftest import error, upload

ADMIN = ("read", "admin")


def test_a_tenants_vocabulary_is_versioned_and_timestamped(client, key_for):
    admin = key_for("acme", ADMIN)
    assert client.get("/v1/vocabulary", headers=admin).json() == {"terms": [], "version": 0}

    first = client.put("/v1/vocabulary", headers=admin, json={"terms": [" Callytics  Pro", "Zentrafy", "zentrafy"]})
    assert first.status_code == 200, first.text
    assert first.headers["Location"] == "/v1/vocabulary?version=1"
    body = first.json()
    assert (body["terms"], body["version"]) == (["Callytics Pro", "Zentrafy"], 1)
    assert body["created_at"] and body["created_by"] == admin["Authorization"].split("_")[1]  # the key's prefix
    assert client.put("/v1/vocabulary", headers=admin, json={"terms": []}).json()["version"] == 2

    assert client.get("/v1/vocabulary", headers=admin).json()["terms"] == []  # cleared from version 2 on
    assert client.get("/v1/vocabulary", headers=admin, params={"version": 1}).json()["terms"] == [
        "Callytics Pro", "Zentrafy"]
    assert error(client.get("/v1/vocabulary", headers=admin, params={"version": 7}))[:2] == (404, "not_found")


@pytest.mark.parametrize("body, where", [
    ({"terms": [f"Product {n}" for n in range(MAX_TENANT_TERMS + 1)]}, f"at most {MAX_TENANT_TERMS} items"),
    ({"terms": ["Z" * 65]}, "at most 64 characters"),
    ({"terms": ["..."]}, "needs a letter or digit"),
    ({"terms": "Zentrafy"}, "valid list"),
    ({}, "body.terms"),
    ({"terms": ["Zentrafy"], "weights": [2]}, "Extra inputs are not permitted"),
])
def test_nonsense_is_422_with_the_reason_and_stores_nothing(client, key_for, body, where):
    admin = key_for("acme", ADMIN)
    status, code, message = error(client.put("/v1/vocabulary", headers=admin, json=body))
    assert (status, code) == (422, "validation_error") and where in message, message
    assert client.get("/v1/vocabulary", headers=admin).json()["version"] == 0


def test_each_tenant_has_its_own_and_only_admin_changes_it(client, key_for):
    acme, globex = key_for("acme", ADMIN), key_for("globex", ADMIN)
    reader, submitter = key_for("acme", ("read",)), key_for("acme", ("submit", "read"))
    client.put("/v1/vocabulary", headers=acme, json={"terms": ["Zentrafy"]})

    assert client.get("/v1/vocabulary", headers=globex).json() == {"terms": [], "version": 0}
    assert error(client.get("/v1/vocabulary", headers=globex, params={"version": 1}))[0] == 404
    assert client.get("/v1/vocabulary", headers=reader).json()["terms"] == ["Zentrafy"]
    for headers in (reader, submitter):
        status, code, message = error(client.put("/v1/vocabulary", headers=headers, json={"terms": ["x"]}))
        assert (status, code) == (403, "forbidden") and "'admin'" in message
    assert error(client.get("/v1/vocabulary"))[:2] == (401, "unauthorized")
    assert client.get("/v1/vocabulary", headers=acme).json()["version"] == 1


def test_an_upload_with_too_many_or_malformed_terms_is_422(client, key_for, stereo_bytes):
    submitter = key_for("acme", ("submit", "read"))
    too_many = ",".join(f"term {n}" for n in range(MAX_REQUEST_TERMS + 1))
    for value, reason in ((too_many, f"at most {MAX_REQUEST_TERMS} items"), ('["Zentrafy"', "not one"),
                          ("Zentrafy, " + "x" * 80, "at most 64 characters")):
        status, code, message = error(upload(client, submitter, stereo_bytes, vocabulary=value))
        assert (status, code) == (422, "validation_error") and "vocabulary" in message and reason in message, message


def test_the_openapi_document_describes_the_vocabulary(client):
    document = client.get("/openapi.json").json()
    paths = document["paths"]
    assert paths["/v1/vocabulary"]["put"]["summary"] == "Store a new version of your vocabulary"
    assert "422" in paths["/v1/vocabulary"]["put"]["responses"]
    assert paths["/v1/vocabulary"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TenantVocabulary"}
    form = paths["/v1/calls"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert form["vocabulary"]["type"] == "string" and "comma-separated" in form["vocabulary"]["description"]


# --- a real call -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def whittemore_wav(data_dir) -> bytes:
    """The agent's line "Not at this particular case, Tom, apologized Whittemore." cut from the
    shared dual-channel recording (its left channel, 7.5 to 11.3 s), as a mono WAV."""
    samples, rate = soundfile.read(data_dir / "synthetic_stereo_call_bleed.wav", dtype="int16")
    out = io.BytesIO()
    soundfile.write(out, samples[int(7.5 * rate):int(11.3 * rate), 0], rate, format="WAV", subtype="PCM_16")
    return out.getvalue()


@pytest.mark.models
def test_an_uploaded_call_is_recognised_with_its_vocabulary_and_retried_with_the_same_terms(
        make_client, key_for, api_settings, store, whittemore_wav, tmp_path: Path):
    headers = key_for("acme", ("submit", "read", "admin"))
    names = {"categories": [{"name": "known-name", "rule": {
        "kind": "phrase", "vocabulary": True, "match": "fuzzy", "threshold": 85}}]}
    broken_dir = tmp_path / "whisper-broken"  # a recognizer that cannot load: the call fails at asr
    broken_dir.mkdir()
    failing = make_client(api_settings, backend=LocalStages(api_settings.model_copy(
        update={"asr": api_settings.asr.model_copy(update={"model": str(broken_dir)})})))
    assert failing.put("/v1/vocabulary", headers=headers, json={"terms": ["Philip Steels", "Zentrafy"]}).status_code \
        == 200
    assert failing.put("/v1/categories/names", headers=headers, json=names).status_code == 201

    failed = upload(failing, headers, whittemore_wav, language="en", vocabulary="Whittemore", params={"wait": "true"})
    assert failed.status_code == 200 and failed.json()["status"] == "failed", failed.text
    # The tenant changes its list; the stored call keeps the terms it was accepted with.
    failing.put("/v1/vocabulary", headers=headers, json={"terms": ["Acme Cloud"]})

    retried = make_client(api_settings).post(f"/v1/calls/{failed.json()['id']}/retry", headers=headers,
                                             params={"wait": "true"})
    assert retried.status_code == 200 and retried.json()["status"] == "completed", retried.text
    result = retried.json()["result"]
    terms = ["Whittemore", "Philip Steels", "Zentrafy"]
    assert result["vocabulary"] == {"terms": terms, "tenant_version": 1, "recognized_with": terms}
    text = " ".join(s["text"] for s in result["segments"])
    assert "Whittemore" in text, text  # Whisper base alone writes "Whitmore" (tests/asr/test_vocabulary.py)

    [match] = failing.get(f"/v1/calls/{failed.json()['id']}/categories", headers=headers).json()["categories"]
    assert match["category"] == "known-name"
    assert [(e["phrase"], e["text"].strip(".,")) for e in match["evidence"]] == [("Whittemore", "Whittemore")]
