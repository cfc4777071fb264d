"""`serve deploy` rollouts on the running application: one stage changes, the others keep their
replicas, and calls keep succeeding meanwhile."""

from __future__ import annotations

import copy
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from bench.reliability import NEW_ASR_MODEL, STAGES_WITH_MODELS, Deploy, as_utc, expected_asr_models, rollout_configs
from deployments.local_cluster import ClusterError
from tests.serve.conftest import DeployedApp, deployment_config, handle, replica_ids, upload

# Each test rolls the whole app (minutes on 2 cores): behind the slow marker, with the other long suites.
pytestmark = [pytest.mark.serve, pytest.mark.models, pytest.mark.slow]


class Traffic:
    """Uploads one recording after another in a thread until stopped; keeps every outcome."""

    def __init__(self, client: httpx.Client, path: Path) -> None:
        self.client, self.path = client, path
        self.outcomes: list[tuple[int, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(300)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                response = upload(self.client, self.path)
                body = response.json()
                self.outcomes.append((response.status_code, body.get("status") or str(body.get("error"))))
            except Exception as err:  # a dropped connection is an outcome too
                self.outcomes.append((0, f"{type(err).__name__}: {err}"))


def _wait_for_replicas(deployed: DeployedApp, name: str, count: int, timeout_s: float = 120) -> set[str]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ids = replica_ids(deployed.cluster)[name]
        if len(ids) == count:
            return ids
        time.sleep(0.5)
    raise AssertionError(f"{name} did not reach {count} running replicas")


def test_one_stage_rolls_while_others_keep_replicas_and_traffic_succeeds(
    deployed: DeployedApp, ray_driver, submit_key: str, stereo_call_path: Path
):
    before = replica_ids(deployed.cluster)
    config = copy.deepcopy(deployed.config)
    deployment_config(config, "speech-recognizer-base")["user_config"]["options"] = {"beam_size": 2}
    deployment_config(config, "audio-processor")["num_replicas"] = 2
    try:
        with deployed.client(submit_key) as client, Traffic(client, stereo_call_path) as traffic:
            time.sleep(2)  # calls in flight when the rollout starts
            deployed.deploy(config)
            after = _wait_for_replicas(deployed, "audio-processor", 2)
            served_before_done = len(traffic.outcomes)
            while len(traffic.outcomes) < served_before_done + 2:  # and calls after it
                time.sleep(0.5)
        assert traffic.outcomes and all(o == (200, "completed") for o in traffic.outcomes), traffic.outcomes
        assert len(traffic.outcomes) >= 3
        now = replica_ids(deployed.cluster)
        # The user_config change reconfigured the recognizer's replica in place: same replica.
        assert now["speech-recognizer-base"] == before["speech-recognizer-base"]
        assert handle("speech-recognizer-base").current_config.remote().result()["options"]["beam_size"] == 2
        # num_replicas 1 -> 2 kept the old audio replica and added one.
        assert before["audio-processor"] < after
        untouched = set(before) - {"audio-processor", "speech-recognizer-base"}
        assert untouched and all(now[name] == before[name] for name in untouched), (before, now)
    finally:
        deployed.restore()


def test_invalid_user_config_fails_the_rollout_visibly(deployed: DeployedApp, ray_driver):
    config = copy.deepcopy(deployed.config)
    # On the base arm: the tiny-en arm scales to zero when idle, and a replica that does not exist
    # validates nothing.
    deployment_config(config, "speech-recognizer-base")["user_config"]["options"] = {"beam_size": 0}
    try:
        deployed.deploy(config, wait=False)
        with pytest.raises(ClusterError, match="beam_size"):
            deployed.cluster.wait_running("callytics", timeout_s=120)
    finally:
        deployed.restore()
    assert handle("speech-recognizer-base").current_config.remote().result()["options"]["beam_size"] == 5


def test_ab_weights_change_with_serve_deploy(deployed: DeployedApp, submit_key: str, stereo_call_path: Path):
    before = replica_ids(deployed.cluster)
    config = copy.deepcopy(deployed.config)
    deployment_config(config, "api-gateway")["user_config"]["variant_weights"] = {"base": 0.0, "tiny-en": 1.0}
    try:
        deployed.deploy(config)
        with deployed.client(submit_key) as client:
            calls = [upload(client, stereo_call_path).json() for _ in range(3)]
            report = {v["variant"]: v for v in client.get("/v1/experiments").json()["variants"]}
        assert [c["variant"] for c in calls] == ["tiny-en"] * 3
        assert all(c["result"]["models"]["asr"] == "bundled:whisper-tiny.en" for c in calls)
        assert report["tiny-en"]["weight"] == 1.0 and report["base"]["weight"] == 0.0
        assert replica_ids(deployed.cluster)["api-gateway"] == before["api-gateway"]  # no restart
    finally:
        deployed.restore()


def _submit(client: httpx.Client, path: Path, key: str) -> str:
    """Upload without waiting; an idempotency key lets the client send again when the gateway
    replica answering it goes away mid-rollout (the replay returns the same call)."""
    for _ in range(30):
        try:
            response = upload(client, path, wait=False, idempotency_key=key)
        except httpx.TransportError:
            time.sleep(2)
            continue
        if response.status_code < 500:
            assert response.status_code in (200, 202), response.text
            return response.json()["id"]
        time.sleep(2)
    raise AssertionError(f"{key}: no answer but 5xx and dropped connections")


def _final_views(client: httpx.Client, ids: list[str], timeout_s: float = 900) -> dict[str, dict]:
    deadline, views = time.monotonic() + timeout_s, {}
    while time.monotonic() < deadline:
        views = {i: client.get(f"/v1/calls/{i}").json() for i in ids}
        if all(v.get("status") in ("completed", "partial", "failed") for v in views.values()):
            return views
        time.sleep(3)
    raise AssertionError(f"calls not final after {timeout_s:.0f} s: {[v.get('status') for v in views.values()]}")


def test_user_config_and_model_rollouts_lose_no_call_and_record_what_served_each(
    deployed: DeployedApp, ray_driver, submit_key: str, stereo_call_path: Path
):
    """Issue 14.6: `serve deploy` of changed options, then of a changed recognizer model (every
    deployment gets new replicas, the gateway included), while calls are in flight: none fails,
    each is stored once and names the variant and the models that served it."""
    options_config, model_config = rollout_configs(deployed.config)
    ids: list[str] = []
    try:
        with deployed.client(submit_key) as client, deployed.client(submit_key, timeout_s=600) as waiter, \
                ThreadPoolExecutor(1) as pool:
            ids += [_submit(client, stereo_call_path, f"rollout-test-{i}") for i in range(2)]
            deployed.deploy(options_config)
            ids += [_submit(client, stereo_call_path, f"rollout-test-{i}") for i in range(2, 4)]
            # A client waiting on its connection (`?wait=true`) while the gateway it talks to is replaced.
            waiting = pool.submit(upload, waiter, stereo_call_path, idempotency_key="rollout-test-wait")
            time.sleep(1)
            switch_started = datetime.now(timezone.utc)
            deployed.deploy(model_config, wait=False)
            ids += [_submit(client, stereo_call_path, f"rollout-test-{i}") for i in range(4, 6)]
            deployed.cluster.wait_running("callytics", timeout_s=600)
            switch = Deploy(switch_started, datetime.now(timezone.utc))
            waited = waiting.result(timeout=600)
            assert waited.status_code == 200 and waited.json()["status"] == "completed", waited.text
            ids.append(waited.json()["id"])
            ids.append(_submit(client, stereo_call_path, "rollout-test-after"))
            views = _final_views(client, ids)
            recognizer = handle("speech-recognizer-base").info.remote().result()
    finally:
        deployed.restore()
    assert len(set(ids)) == len(ids) == 8  # each key gave one call
    assert [v["status"] for v in views.values()] == ["completed"] * 8, {i: v.get("error") for i, v in views.items()}
    # The rollout did reach calls in flight: some were accepted before the switch and finished after it.
    assert any(as_utc(v["created_at"]) < switch.done and as_utc(v["updated_at"]) > switch.started
               for v in views.values())
    assert recognizer == {"variant": "base", "model": NEW_ASR_MODEL}
    for call_id, view in views.items():
        models = view["result"]["models"]
        assert view["variant"] in ("base", "tiny-en") and view["result"]["variant"] == view["variant"]
        assert all(models.get(stage) for stage in STAGES_WITH_MODELS), (call_id, models)
        allowed = expected_asr_models(view["variant"], as_utc(view["created_at"]), as_utc(view["updated_at"]), switch)
        assert models["asr"] in allowed, (call_id, view["variant"], models["asr"], allowed)
    assert views[ids[-1]]["result"]["models"]["asr"] == NEW_ASR_MODEL  # accepted after the switch
