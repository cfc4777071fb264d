"""Per-stage runtime_envs: two deployments of one running application import different versions
of the same package.

The A/B arm `tiny-en` moves to runtime_envs/asr-previous.txt (faster-whisper 1.1.1) while the
`base` arm stays on the base environment's 1.2.1: a version A/B inside one app. (The heavier real
conflicts, pyannote's torch and NeMo's pins, need CUDA wheels this box cannot download in a test.)

Runtime envs are builder args, and Serve hashes an application's args into its code version
(ray.serve._private.deploy_utils.get_app_code_version): turning an env on rebuilds the whole
application, unlike user_config and num_replicas changes (test_rollout.py).
"""

from __future__ import annotations

import copy
import logging
import subprocess
import time
from pathlib import Path

import pytest

from tests.serve.conftest import DeployedApp, app_config, deployment_config, handle, replica_ids, upload

pytestmark = [pytest.mark.serve, pytest.mark.models, pytest.mark.slow]

logger = logging.getLogger(__name__)

VARIANT = "tiny-en"
DEPLOYMENT = f"speech-recognizer-{VARIANT}"


def _env_disk_mb(deployed: DeployedApp) -> float:
    """Disk the session's pip runtime_envs take (Ray copies the base virtualenv into each)."""
    root = next(deployed.cluster.temp_dir.glob("session_latest/runtime_resources/pip"), None)
    if root is None:
        return 0.0
    done = subprocess.run(["du", "-sm", str(root)], capture_output=True, text=True, check=True)
    return float(done.stdout.split()[0])


def _env_setup_lines(deployed: DeployedApp) -> list[str]:
    """What Ray's runtime_env agent logged about creating the envs (its own timings)."""
    lines = []
    for path in deployed.cluster.temp_dir.glob("session_latest/logs/runtime_env_agent.log"):
        lines += [line for line in path.read_text(errors="replace").splitlines() if "reat" in line and "pip" in line.lower()]
    return lines[-6:]


def test_two_deployments_of_one_app_import_different_versions(
    deployed: DeployedApp, ray_driver, submit_key: str, stereo_call_path: Path
):
    before = replica_ids(deployed.cluster)
    config = copy.deepcopy(deployed.config)
    args = app_config(config)["args"]
    args["runtime_envs"] = [DEPLOYMENT]
    args["variant_resources"][VARIANT]["requirements"] = "asr-previous"
    deployment_config(config, "api-gateway")["user_config"]["variant_weights"] = {"base": 0.0, VARIANT: 1.0}
    try:
        started = time.monotonic()
        deployed.deploy(config, timeout_s=420)
        logger.info(
            "runtime_env asr-previous: %.0f s from deploy to running (whole app rebuilt), %.0f MB of envs on disk; %s",
            time.monotonic() - started, _env_disk_mb(deployed), _env_setup_lines(deployed),
        )
        versions = {
            name: handle(name).library_versions.remote(["faster_whisper", "ray", "numpy"]).result()
            for name in ("speech-recognizer-base", DEPLOYMENT)
        }
        assert versions["speech-recognizer-base"]["faster_whisper"] == "1.2.1"
        assert versions[DEPLOYMENT]["faster_whisper"] == "1.1.1"
        # Everything outside the pins is the base environment's.
        assert versions[DEPLOYMENT]["ray"] == versions["speech-recognizer-base"]["ray"]
        assert versions[DEPLOYMENT]["numpy"] == versions["speech-recognizer-base"]["numpy"]
        assert replica_ids(deployed.cluster)[DEPLOYMENT].isdisjoint(before[DEPLOYMENT])  # new replica, new env
        # The arm on the old library still serves calls end to end.
        with deployed.client(submit_key) as client:
            call = upload(client, stereo_call_path).json()
        assert call["status"] == "completed" and call["variant"] == VARIANT
        assert "horizon" in " ".join(s["text"] for s in call["result"]["segments"]).lower()
    finally:
        deployed.restore()
