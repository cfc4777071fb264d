"""A speech-recognizer replica killed (kill -9) in the middle of a call: the call still completes,
through the orchestrator's stage retry and Serve starting a new replica."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.serve.conftest import DeployedApp, replica_ids, upload

pytestmark = [pytest.mark.serve, pytest.mark.models]


def _long_clip(data_dir: Path, path: Path) -> Path:
    """90 s of real meeting speech (trn*.wav are mostly silence): long enough to catch the recognizer at work."""
    parts = [sf.read(data_dir / name, dtype="float32")[0] for name in ("dev00.wav", "dev01.wav", "dev00.wav")]
    sf.write(path, np.concatenate(parts), 16_000, subtype="PCM_16")  # FLAC: under the upload limit
    return path


def _replica_pids(deployed: DeployedApp, deployment: str) -> dict[str, int]:
    details = deployed.cluster.serve_details()["applications"]["callytics"]["deployments"][deployment]
    return {r["replica_id"]: r["pid"] for r in details["replicas"] if r["state"] == "RUNNING"}


def _running_replica(deployed: DeployedApp, deployment: str, timeout_s: float = 60.0) -> dict[str, int]:
    """The deployment's one RUNNING replica: Serve's view can lag a replica that is starting or
    was just replaced on a loaded machine, so it is waited for (with the view in the failure)."""
    deadline = time.monotonic() + timeout_s
    while len(victims := _replica_pids(deployed, deployment)) != 1:
        details = deployed.cluster.serve_details()["applications"]["callytics"]["deployments"][deployment]
        assert time.monotonic() < deadline, [(r["replica_id"], r["state"]) for r in details["replicas"]]
        time.sleep(0.2)
    return victims


def test_recognizer_killed_mid_call_and_the_call_completes(
    deployed: DeployedApp, submit_key: str, data_dir: Path, tmp_path: Path
):
    clip = _long_clip(data_dir, tmp_path / "meeting.flac")
    with deployed.client(submit_key) as client:
        response = upload(client, clip, wait=False, language="en")
        assert response.status_code == 202, response.text
        call_id, variant = response.json()["id"], response.json()["variant"]
        deployment = f"speech-recognizer-{variant}"
        deadline = time.monotonic() + 60
        while True:  # until the recognizer has the call
            stages = {s["stage"]: s["status"] for s in client.get(f"/v1/calls/{call_id}").json()["stages"]}
            if stages.get("asr") == "running":
                break
            assert time.monotonic() < deadline, stages
            time.sleep(0.1)
        victims = _running_replica(deployed, deployment)
        time.sleep(0.5)  # into the model call, past the batch wait
        os.kill(next(iter(victims.values())), signal.SIGKILL)
        response = client.get(f"/v1/calls/{call_id}", params={"include_result": "true"})
        deadline = time.monotonic() + 240
        while response.json()["status"] not in {"completed", "partial", "failed"}:
            assert time.monotonic() < deadline, response.json()
            time.sleep(1)
            response = client.get(f"/v1/calls/{call_id}")
    call = response.json()
    assert call["status"] == "completed", call
    asr = next(s for s in call["stages"] if s["stage"] == "asr")
    assert asr["status"] == "done", asr
    # The first attempt died with the replica and the orchestrator's retry finished the stage (the
    # gateway log is the witness as well as the stage's `attempts`).
    gateway_log = "".join(
        p.read_text(errors="replace")
        for p in deployed.cluster.temp_dir.glob("session_latest/logs/serve/replica_callytics_api-gateway_*.log")
    )
    assert f"call {call_id}: asr attempt 1 failed: The actor died" in gateway_log
    assert sum(len(s["words"]) for s in call["result"]["segments"]) >= 120  # in-process: 170 words
    assert call["result"]["audio"]["duration_s"] == pytest.approx(90.0, abs=0.5)
    # Serve replaced the killed replica.
    assert replica_ids(deployed.cluster)[deployment].isdisjoint(victims)
