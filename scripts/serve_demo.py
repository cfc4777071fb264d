"""The README's main command, Serve part: start a local Ray cluster, deploy the CPU profile, upload
a sample call over HTTP, print its summary and where the dashboard and API docs are.

Usage: python scripts/serve_demo.py [--file CALL.wav] [--profile deployments/profiles/cpu.yaml]
                                    [--stop] [--timeout-s 900]

The cluster keeps running afterwards (browse the dashboard, send more calls); stop it with
`ray stop`, or pass --stop. A cluster this script started earlier is reused. Token auth (Ray's
default) uses ~/.ray/auth_token: `export RAY_AUTH_MODE=token` before `serve status` or `ray status`.
"""

from __future__ import annotations

import argparse
import logging
import mimetypes
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from callytics_ray.settings import serve_app_settings  # noqa: E402
from callytics_ray.storage import make_engine  # noqa: E402
from callytics_ray.storage.keys import create_api_key  # noqa: E402
from deployments.local_cluster import ClusterError, LocalCluster  # noqa: E402

logger = logging.getLogger("serve_demo")

DEFAULT_PROFILE = ROOT / "deployments" / "profiles" / "cpu.yaml"
DEFAULT_CALL = ROOT.parent / "shared" / "data" / "stereo_diarization.wav"
APP = "callytics"
GCS_PORT, DASHBOARD_PORT, METRICS_PORT = 6379, 8265, 8080
TOKEN_FILE = Path.home() / ".ray" / "auth_token"


def auth_token() -> str:
    """Ray's default token file, created when missing (what `ray get-auth-token --generate` does)."""
    if TOKEN_FILE.is_file() and TOKEN_FILE.read_text().strip():
        return TOKEN_FILE.read_text().strip()
    TOKEN_FILE.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(32)
    TOKEN_FILE.write_text(token)
    TOKEN_FILE.chmod(0o600)
    return token


def cluster(temp_dir: Path) -> tuple[LocalCluster, bool]:
    """The local cluster on the standard ports: the running one, or a new one. (cluster, started)."""
    local = LocalCluster(
        temp_dir=temp_dir, gcs_port=GCS_PORT, dashboard_port=DASHBOARD_PORT, metrics_port=METRICS_PORT,
        auth_token=auth_token(),
    )
    if local._dashboard_up():
        logger.info("reusing the Ray cluster at %s", local.dashboard_url)
        return local, False
    logger.info("starting a local Ray cluster (dashboard %s)", local.dashboard_url)
    return local.start(), True


def database_url(profile: dict[str, Any]) -> str:
    url = serve_app_settings(profile).database_url
    prefix = "sqlite:///"
    if url.startswith(prefix + "~"):
        path = Path(url.removeprefix(prefix)).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"{prefix}{path}"
    return url


def upload(base_url: str, key: str, path: Path, timeout_s: float) -> dict[str, Any]:
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=timeout_s) as client, \
            path.open("rb") as handle:
        response = client.post(
            "/v1/calls", params={"wait": "true", "timeout_s": timeout_s}, files={"file": (path.name, handle, content_type)}
        )
    if response.status_code >= 400:
        raise SystemExit(f"upload failed: HTTP {response.status_code}: {response.text}")
    return response.json()


def summary(call: dict[str, Any]) -> str:
    """A readable summary of a call view (GET /v1/calls/{id})."""
    result = call.get("result") or {}
    audio = result.get("audio") or {}
    lines = [
        f"call {call['id']}: {call['status']} (A/B variant {call.get('variant') or '-'})",
        f"  audio: {audio.get('duration_s', '?')} s, {audio.get('layout', '?')}, language {result.get('language', '?')}",
    ]
    roles = {s["speaker"]: s["role"] for s in result.get("speakers") or []}
    for s in result.get("segments", []):
        who = s.get("speaker") or f"channel {s.get('channel')}"
        role = f" ({roles[s['speaker']]})" if s.get("speaker") in roles else ""
        mood = f" [{s['sentiment']['label']}]" if s.get("sentiment") else ""
        lines.append(f"  {s['start']:6.2f}-{s['end']:6.2f} {who}{role}{mood}: {s['text']}")
    if result.get("sentiment"):
        lines.append(f"  sentiment: {result['sentiment']['label']} ({result['sentiment']['score']:+.2f})")
    analysis = result.get("analysis")
    if analysis:
        lines.append(f"  summary ({analysis['analyzer']}): {analysis['summary']}")
    lines.append("  stages: " + ", ".join(f"{s['stage']} {s['status']} {s.get('seconds') or 0:.1f}s" for s in call["stages"]))
    if result.get("errors"):
        lines.append(f"  errors: {result['errors']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_CALL, help="the call to upload")
    parser.add_argument("--profile", type=Path, default=DEFAULT_PROFILE, help="the Serve config to deploy")
    parser.add_argument("--temp-dir", type=Path, default=Path("/tmp/callytics-ray"), help="Ray's session root")
    parser.add_argument("--timeout-s", type=float, default=900.0, help="deploy and call timeout")
    parser.add_argument("--stop", action="store_true", help="stop the cluster at the end")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if not args.file.is_file():
        parser.error(f"{args.file} not found")

    profile = yaml.safe_load(args.profile.read_text())
    http = profile.get("http_options", {})
    base_url = f"http://{http.get('host', '127.0.0.1')}:{http.get('port', 8000)}"
    local, started = cluster(args.temp_dir)
    try:
        t0 = time.monotonic()
        local.deploy(args.profile)
        logger.info("deployed %s; waiting for every deployment to be RUNNING", args.profile.name)
        local.wait_running(APP, timeout_s=args.timeout_s)
        logger.info("application running after %.0f s", time.monotonic() - t0)
        key, _ = create_api_key(make_engine(database_url(profile)), tenant="demo", scopes=("submit", "read"))
        logger.info("uploading %s to %s/v1/calls", args.file, base_url)
        t0 = time.monotonic()
        call = upload(base_url, key, args.file, args.timeout_s)
        logger.info("analysed in %.1f s", time.monotonic() - t0)
    except ClusterError as err:
        logger.error("%s (logs: %s/session_latest/logs/serve)", err, args.temp_dir)
        if started and args.stop:
            local.stop()
        return 1

    print(summary(call))
    print()
    print(f"Ray dashboard:   {local.dashboard_url}   (token: `ray get-auth-token`, file {TOKEN_FILE})")
    print(f"Console:         {base_url}/console   (sign in with the API key below)")
    print(f"API docs:        {base_url}/docs")
    print(f"Metrics:         http://127.0.0.1:{local.metrics_port}/metrics")
    print(f"API key (demo):  {key}")
    print(f"Try:             curl -H 'Authorization: Bearer {key}' {base_url}/v1/calls/{call['id']}")
    if args.stop:
        local.stop()
        print("cluster stopped")
    else:
        print("Stop the cluster with `ray stop`.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
