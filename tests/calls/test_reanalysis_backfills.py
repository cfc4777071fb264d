"""Re-analysis and redacted-copy backfills end to end over HTTP, with the real local pipeline: calls
submitted on the `tiny-en` A/B variant (Whisper tiny.en) are re-analysed with Whisper base by a
`reanalyze` job; a call stored without a redacted copy (as calls stored before copies existed are)
gets one from a `redact_audio` job, and no sample of its PII spans survives in the served copy;
calls whose original retention deleted are outcomes with that reason.

Recordings: an AMI meeting excerpt (the first 8 s of dev00.wav, far-field speech on which the two
models differ) and the PII call of tests/calls/test_redacted_audio.py (a real dual-channel call
then an espeak-ng customer reading a card number).
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete
from sqlmodel import Session

from callytics_ray.api import LocalRunner, create_app
from callytics_ray.asr import Transcriber
from callytics_ray.pipeline import LocalStages
from callytics_ray.settings import AsrVariant, Settings
from callytics_ray.storage import CallStore
from callytics_ray.storage.keys import create_api_key
from callytics_ray.storage.tables import RedactedCallAudio
from tests.api.test_backfills import finished
from tests.calls.test_redacted_audio import _bleep, _build_recording, _pcm, _span_mask

pytestmark = pytest.mark.models

TINY, BASE = "bundled:whisper-tiny.en", "bundled:whisper-base"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, data_dir, stereo_call_path, model_cache, local_stages):
    """A gateway whose new calls all go to the `tiny-en` variant, with two calls stored through it."""
    folder = tmp_path_factory.mktemp("reanalysis")
    meeting = folder / "meeting.wav"
    subprocess.run(["sox", str(data_dir / "dev00.wav"), str(meeting), "trim", "0", "8"], check=True,
                   capture_output=True)
    pii = folder / "pii_call.wav"
    phrase_s = _build_recording(stereo_call_path, pii)
    settings = Settings(database_url=f"sqlite:///{folder / 'calls.db'}", cache_dir=model_cache, _env_file=None)
    assert settings.asr.model == BASE
    settings = settings.model_copy(update={"api": settings.api.model_copy(update={
        "reconcile_interval_s": 3600.0, "rate_limit_per_minute": 0,
        "variants": [AsrVariant(name="tiny-en", weight=1.0, asr_model=TINY), AsrVariant(name="control", weight=0.0)],
    })})
    shared = local_stages  # the session's loaded models; the tiny.en recognizer is this module's own
    stages = LocalStages(
        settings, transcriber=shared.transcriber, diarizer=shared.diarizer, punctuator=shared.punctuator,
        classifier=shared.classifier, analyzer=shared.analyzer,
        variant_transcribers={"tiny-en": Transcriber.from_settings(
            settings.model_copy(update={"asr": settings.asr.model_copy(update={"model": TINY})}))},
    )
    store = CallStore.from_url(settings.database_url)
    with TestClient(create_app(settings, store, LocalRunner(stages, store, settings))) as client:
        keys = {scopes: {"Authorization": f"Bearer {create_api_key(store.engine, tenant='acme', scopes=scopes)[0]}"}
                for scopes in (("submit", "read"), ("read", "admin"))}
        calls = {}
        for name, path, agent in (("meeting", meeting, "agent-m"), ("pii", pii, "agent-p")):
            reply = client.post("/v1/calls", headers=keys[("submit", "read")], params={"wait": "true"},
                                data={"agent_id": agent}, files={"file": (path.name, path.read_bytes(), "audio/wav")})
            assert reply.status_code == 200, reply.text
            calls[name] = reply.json()
        yield {"client": client, "store": store, "read": keys[("submit", "read")], "admin": keys[("read", "admin")],
               "calls": calls, "pii_audio": pii.read_bytes(), "phrase_s": phrase_s, "settings": settings}
    store.engine.dispose()


def _text(call: dict) -> str:
    return " ".join(s["text"] for s in call["result"]["segments"])


def test_reanalysing_with_whisper_base_replaces_the_tiny_en_analyses(gateway):
    client, admin, before = gateway["client"], gateway["admin"], gateway["calls"]
    for call in before.values():
        assert call["status"] == "completed", call.get("error")
        assert (call["result"]["variant"], call["result"]["models"]["asr"]) == ("tiny-en", TINY)

    # The meeting's agent only: Whisper base on 2 cores is slow, one call shows it.
    started = client.post("/v1/backfills", headers=admin, json={"kind": "reanalyze", "asr_model": BASE,
                                                                "filter": {"agent_id": "agent-m"}})
    assert started.status_code == 202, started.text
    job = started.json()
    assert (job["kind"], job["asr_model"], job["variant"], job["total"]) == ("reanalyze", BASE, None, 1)
    assert job["chunk_size"] == gateway["settings"].backfill.audio_chunk_size
    done = finished(client, admin, job["id"], timeout_s=300)
    assert (done["status"], done["done"], done["failed"], done["executor"]) == ("done", 1, 0, "pipeline"), done

    old = before["meeting"]
    [outcome] = client.get(f"/v1/backfills/{job['id']}/outcomes", headers=admin).json()["items"]
    # What was replaced is on record: the store keeps one analysis per call.
    assert outcome["previous"] == {"variant": "tiny-en", "models": old["result"]["models"]}
    assert (outcome["analysis"]["variant"], outcome["analysis"]["models"]["asr"]) == (None, BASE)
    assert (outcome["call_id"], outcome["status"], outcome["error"]) == (old["id"], "completed", None)
    assert outcome["redacted_audio"] == "identical"  # no PII in the meeting: its copy is the original
    now = client.get(f"/v1/calls/{old['id']}", headers=gateway["read"]).json()
    assert now["status"] == "completed"
    assert now["result"]["models"]["asr"] == BASE and now["result"].get("variant") is None
    assert now.get("variant") is None  # no longer on the tiny-en arm
    assert _text(now) and _text(now) != _text(old)
    # The words are searchable as base heard them.
    word = max(_text(now).split(), key=len).strip(".,?!").lower()
    hits = client.get("/v1/calls", headers=gateway["read"], params={"q": word}).json()["items"]
    assert old["id"] in [h["id"] for h in hits]
    # Re-assessed on what is in force: its scorecards are there.
    assert client.get(f"/v1/calls/{old['id']}/scorecard", headers=admin).status_code == 200
    # The call outside the filter is untouched.
    pii = client.get(f"/v1/calls/{before['pii']['id']}", headers=gateway["read"]).json()
    assert pii["result"]["models"]["asr"] == TINY and _text(pii) == _text(before["pii"])


def test_redact_audio_makes_the_missing_copy_and_no_pii_sample_survives(gateway):
    client, admin, store, calls = gateway["client"], gateway["admin"], gateway["store"], gateway["calls"]
    pii_id, meeting_id = calls["pii"]["id"], calls["meeting"]["id"]
    # Stored before redacted copies existed: no copy at all, so the API has none to serve.
    with Session(store.engine) as session:
        session.exec(delete(RedactedCallAudio))
        session.commit()
    assert client.get(f"/v1/calls/{pii_id}/audio", headers=gateway["read"]).status_code == 409
    # Retention took the meeting's original since.
    with Session(store.engine) as session:
        from callytics_ray.storage.tables import Call, CallAudio

        session.exec(delete(CallAudio).where(CallAudio.call_id == meeting_id))
        call = session.get(Call, meeting_id)
        call.original_audio_deleted_at = call.created_at
        session.add(call)
        session.commit()

    refused = client.post("/v1/backfills", headers=admin, json={"kind": "redact_audio", "asr_model": BASE})
    assert refused.status_code == 422 and "reanalyze" in refused.json()["error"]["message"]
    job = client.post("/v1/backfills", headers=admin, json={"kind": "redact_audio"}).json()
    assert (job["kind"], job["total"]) == ("redact_audio", 2)
    done = finished(client, admin, job["id"], timeout_s=300)
    assert (done["status"], done["done"], done["failed"]) == ("done", 1, 1), done
    outcomes = {o["call_id"]: o for o in client.get(f"/v1/backfills/{job['id']}/outcomes", headers=admin).json()["items"]}
    assert outcomes[pii_id]["redacted_audio"] == "redacted"
    assert "deleted by retention" in outcomes[meeting_id]["error"]

    call = client.get(f"/v1/calls/{pii_id}", headers=gateway["read"]).json()
    served = client.get(f"/v1/calls/{pii_id}/audio", headers=gateway["read"])
    assert served.status_code == 200 and served.headers["x-callytics-audio"] == "redacted"
    redacted, rate = _pcm(served.content)
    original, _ = _pcm(gateway["pii_audio"])
    options = gateway["settings"].audio.redaction
    mask = _span_mask(call["result"]["redactions"], options.pad_s, rate, original.shape[1])
    assert mask.sum() > rate, "a read-out card number lasts seconds"
    bleep = _bleep(options, rate, original.shape[1])
    for channel in range(original.shape[0]):
        assert np.array_equal(redacted[channel, mask], bleep[mask]), f"channel {channel}: a sample in a span survived"
        assert np.array_equal(redacted[channel, ~mask], original[channel, ~mask]), f"channel {channel} changed outside"

    # A reanalysis of the meeting now has nothing to run: an outcome with the reason, the analysis stays.
    job = client.post("/v1/backfills", headers=admin, json={"kind": "reanalyze", "variant": "tiny-en",
                                                            "filter": {"agent_id": "agent-m"}}).json()
    done = finished(client, admin, job["id"], timeout_s=300)
    assert (done["status"], done["total"], done["done"], done["failed"]) == ("done", 1, 0, 1)
    [outcome] = client.get(f"/v1/backfills/{job['id']}/outcomes", headers=admin).json()["items"]
    assert "deleted by retention" in outcome["error"] and outcome["previous"]["models"]["asr"] == BASE
    assert client.get(f"/v1/calls/{meeting_id}", headers=admin).json()["result"]["models"]["asr"] == BASE


def test_an_unknown_variant_or_model_is_a_422_with_the_reason(gateway):
    client, admin = gateway["client"], gateway["admin"]
    for body, field in (({"variant": "large-v3"}, "variant"), ({"asr_model": "bundled:whisper-large"}, "asr_model")):
        reply = client.post("/v1/backfills", headers=admin, json={"kind": "reanalyze", **body})
        assert reply.status_code == 422, reply.text
        message = reply.json()["error"]["message"]
        assert field in message and ("tiny-en" in message or BASE in message), message
    reply = client.post("/v1/backfills", headers=admin, json={"kind": "reanalyze", "rubric": {"name": "qa"}})
    assert reply.status_code == 422 and "rubric" in reply.json()["error"]["message"]
