"""The CPU profile on a real local Ray cluster, driven over HTTP through Serve's proxy."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.serve.conftest import DeployedApp, upload

pytestmark = [pytest.mark.serve, pytest.mark.models]

VARIANT_MODELS = {"base": "bundled:whisper-base", "tiny-en": "bundled:whisper-tiny.en"}


def _words(text: str) -> set[str]:
    return {w.strip(".,!?").lower() for w in text.split()}


def test_stereo_call_end_to_end(deployed: DeployedApp, submit_key: str, stereo_call_path: Path):
    with deployed.client(submit_key) as client:
        response = upload(client, stereo_call_path)
    assert response.status_code == 200, response.text
    call = response.json()
    assert call["status"] == "completed", call
    result = call["result"]
    # Every result records the A/B variant that served it, and that variant's model.
    assert call["variant"] in VARIANT_MODELS
    assert result["variant"] == call["variant"]
    assert result["models"]["asr"] == VARIANT_MODELS[call["variant"]]
    assert result["audio"]["layout"] == "dual"
    by_channel = {s["channel"]: " ".join(x["text"] for x in result["segments"] if x["channel"] == s["channel"])
                  for s in result["segments"]}
    assert {"confused", "complaint", "wizard", "curtain"} <= _words(by_channel[0])
    assert {"horizon", "extremely", "distant"} <= _words(by_channel[1])
    # Every stage of the protocol ran in its deployment: speakers (one per channel), punctuation,
    # sentiment, quality and the (offline) analysis.
    assert all(s["status"] == "done" for s in call["stages"]), call["stages"]
    assert {s["stage"] for s in call["stages"]} >= {"audio", "asr", "diarization", "punctuation", "sentiment", "llm"}
    # A dual-channel call: one speaker per channel, the roles decided, every segment attributed.
    assert {s["speaker"]: s["role"] for s in result["speakers"]} == {"CHANNEL_0": "agent", "CHANNEL_1": "customer"}
    assert all(s["speaker"] == f"CHANNEL_{s['channel']}" for s in result["segments"])
    assert all(s["sentiment"]["label"] in {"negative", "neutral", "positive"} for s in result["segments"])
    assert result["sentiment"]["label"] and result["quality"]["duration_s"] > 0
    assert result["analysis"]["analyzer"] == "offline" and result["analysis"]["summary"]
    assert set(result["models"]) >= {"asr", "diarization", "punctuation", "sentiment"}
    assert not result.get("errors")
    # No PII: the original is the redacted copy (stored once, through the database service).
    assert call["recording"]["redacted"]["state"] == "identical" and call["recording"]["original"] == "stored"
    with deployed.client(submit_key) as client:
        audio = client.get(f"/v1/calls/{call['id']}/audio")
    assert audio.content == stereo_call_path.read_bytes() and audio.headers["x-callytics-audio"] == "redacted"


def test_call_with_bleed_reads_as_a_dialogue(deployed: DeployedApp, submit_key: str, data_dir: Path):
    # A dual-channel support call in which each party leaks into the other's channel (-17 dB).
    with deployed.client(submit_key) as client:
        response = upload(client, data_dir / "synthetic_stereo_call_bleed.wav", language="en")
        assert response.status_code == 200, response.text
        call = response.json()
        rttm = client.get(f"/v1/calls/{call['id']}/transcript", params={"format": "rttm"}).text
    segments = call["result"]["segments"]
    roles = [s["role"] for s in segments]
    changes = [r for i, r in enumerate(roles) if i == 0 or r != roles[i - 1]]
    assert changes[:6] == ["agent", "customer"] * 3, roles
    assert [s["start"] for s in segments] == sorted(s["start"] for s in segments)
    assert max(s["end"] - s["start"] for s in segments) < 6.0
    customer = " ".join(s["text"] for s in segments if s["role"] == "customer").lower()
    assert "philip" not in customer and "twentieth" not in customer and "20th" not in customer
    speech = sum(float(line.split()[4]) for line in rttm.splitlines())
    assert speech < call["result"]["audio"]["duration_s"]
    # The audio-processor's loudness envelope reaches quality through the gateway: every turn was
    # mixed at -24 dBFS, and each party's loudness is read on its own channel before normalisation.
    quality = call["result"]["quality"]
    assert all(-25.0 < p["loudness_lufs"] < -23.0 for p in quality["speakers"]), quality["speakers"]
    # One point per utterance whose frames pass the loudness gate (a very short or all-quiet
    # utterance has none, by design): every point is one of the speaker's utterances, most have one.
    for party in quality["speakers"]:
        spans = {(round(s["start"], 2), round(s["end"], 2)) for s in segments if s["speaker"] == party["speaker"]}
        points = {(round(p["start"], 2), round(p["end"], 2)) for p in party["loudness"]}
        assert points <= spans and len(points) >= 0.75 * len(spans), (party["speaker"], points, spans)
    assert quality["non_talk_time_s"] == 0.0  # pauses of 0.45-0.7 s only


def test_api_docs_are_served(deployed: DeployedApp):
    with deployed.client(None) as client:
        assert client.get("/docs").status_code == 200
        paths = client.get("/openapi.json").json()["paths"]
        # The console rides on the same ingress: its sign-in page and assets, never data without a key.
        assert 'id="sign-in-form"' in client.get("/console/sign-in").text
        assert client.get("/console/static/console.js").status_code == 200
        assert client.get("/console/calls", follow_redirects=False).status_code == 303
    assert {"/v1/calls", "/v1/calls/{call_id}", "/v1/calls/{call_id}/audio", "/v1/experiments"} <= set(paths)


def test_dev_clip_end_to_end(deployed: DeployedApp, submit_key: str, data_dir: Path):
    with deployed.client(submit_key) as client:
        response = upload(client, data_dir / "dev00.wav", language="en")
        assert response.status_code == 200, response.text
        call = response.json()
        transcript = client.get(f"/v1/calls/{call['id']}/transcript", params={"format": "txt"})
    assert call["status"] == "completed", call
    assert call["result"]["language"] == "en"
    assert call["result"]["audio"]["duration_s"] == pytest.approx(30.0, abs=0.1)
    assert call["result"]["segments"] and call["result"]["speakers"]
    assert transcript.status_code == 200
    assert len(transcript.text.split()) >= 40  # AMI meeting talk: 30 s hold far more than 40 words


def test_ten_concurrent_uploads_all_complete(deployed: DeployedApp, submit_key: str, stereo_call_path: Path):
    with deployed.client(submit_key) as client, ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(lambda _: upload(client, stereo_call_path), range(10)))
        assert [r.status_code for r in responses] == [200] * 10, [r.text for r in responses if r.status_code != 200]
        calls = [r.json() for r in responses]
        ids = {c["id"] for c in calls}
        assert len(ids) == 10
        assert all(c["status"] == "completed" and c["result"]["segments"] for c in calls)
        # Nothing lost: every call is stored, completed, with its transcript.
        listed = client.get("/v1/calls", params={"status": "completed", "limit": 500}).json()
        assert ids <= {item["id"] for item in listed["items"]}
        for call_id in ids:
            stored = client.get(f"/v1/calls/{call_id}").json()
            assert "horizon" in stored["result"]["segments"][0]["text"].lower() + stored["result"]["segments"][-1]["text"].lower()
        experiments = client.get("/v1/experiments").json()
    per_variant = {v["variant"]: v for v in experiments["variants"]}
    assert set(per_variant) == set(VARIANT_MODELS)
    assert sum(v["completed"] for v in per_variant.values()) >= 10
    assert per_variant["base"]["weight"] == pytest.approx(0.9)


def _mapped_libraries(pid: int) -> set[str]:
    with open(f"/proc/{pid}/maps") as maps:
        return {Path(line.split()[-1]).name for line in maps if "/" in line}


def test_every_replica_runs_with_the_builders_malloc_environment(deployed: DeployedApp):
    details = deployed.cluster.serve_details()["applications"]["callytics"]["deployments"]
    pids = {name: [r["pid"] for r in d["replicas"] if r["state"] == "RUNNING"] for name, d in details.items()}
    assert sum(map(bool, pids.values())) >= 8, pids  # every stage (the tiny-en arm starts at 0 replicas)
    for name, replicas in pids.items():
        for pid in replicas:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            assert b"MALLOC_ARENA_MAX=2" in environ, name


def test_the_app_loads_the_sentence_encoder_once(deployed: DeployedApp, submit_key: str, stereo_call_path: Path):
    # The offline analysis (summary centrality, KeyBERT topics) and call drivers embed through the
    # sentiment-analyzer's replica: the llm-analyzer's and the gateway's processes never load the
    # model or a runtime for it. On a CPU the sentiment-analyzer runs it under onnxruntime, without torch.
    import psutil

    from bench.resources import ray_process_group

    with deployed.client(submit_key) as client:
        call = upload(client, stereo_call_path).json()
        drivers = client.get("/v1/drivers", params={"bucket": "day"})
    analysis = call["result"]["analysis"]
    assert call["status"] == "completed" and analysis["model"] == "offline:centrality", analysis
    assert analysis["topics"] and analysis["summary"]
    assert drivers.status_code == 200, drivers.text
    report = drivers.json()
    # The session's first report embeds its calls (later ones read the stored embeddings).
    assert report["calls"] >= 1 and report["embedded_calls"] >= 1, report
    replicas = {}
    for pid in deployed.cluster.pids():
        try:
            replicas.setdefault(ray_process_group(psutil.Process(pid)), []).append(pid)
        except psutil.NoSuchProcess:
            continue
    def runtimes(pid: int) -> set[str]:
        maps = _mapped_libraries(pid)
        return {name for name, prefix in (("torch", "libtorch_cpu.so"), ("onnxruntime", "onnxruntime_pybind11_state"))
                if any(m.startswith(prefix) for m in maps)}

    sentiment = [runtimes(pid) for pid in replicas["sentiment-analyzer"]]
    assert sentiment and all(r == {"onnxruntime"} for r in sentiment), sentiment
    others = replicas["llm-analyzer"] + replicas["api-gateway"]
    assert others and not any(runtimes(pid) for pid in others)
