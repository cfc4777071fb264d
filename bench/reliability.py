"""Reliability under load, faults and hostile input, against the real Serve app on a local cluster.

Every phase talks to the deployed app over HTTP, as a customer's integration would, and checks the
store afterwards: what was accepted must be stored exactly once and end in a final state.

- burst: N calls submitted at once (short clips cut from the shared recordings), idempotency keys
  on half of them and some of those keys sent twice at the same moment; the calls are spread over
  a few API keys with a per-key rate limit low enough that 429s happen. The client waits out
  Retry-After and sends again, as a well-behaved client does. Reported: requests, 429s, 5xx, calls
  stored, duplicates, completed, latency (accepted to finished, server clock) p50/p95/max and the
  peak memory (PSS) of the cluster's processes.
- chaos: calls at a steady pace while one replica of every deployment (the gateway and the
  database service included) is killed with SIGKILL at random moments. Unless `--no-second-node`,
  the cluster has a second (worker) node on this machine, Serve spreads the replicas over both,
  and first that node's raylet is killed with SIGKILL (every replica on it dies at once, the head
  marks the node dead, Serve starts the replicas again on the head). Every call must end final
  (completed, or partial/failed with its reason), be stored once and finished once.
- pg_restart: the app on PostgreSQL (a server of the bench's own); calls submitted before, during
  and after the server is stopped and started again while the first ones are analysed. Nothing
  accepted is lost (every call final, stored once); submissions during the outage get
  `503 database_unavailable` with Retry-After and the client's later retry is accepted.
- soak: calls one after another; every replica's memory (PSS), open descriptors and threads, and
  the object store, after a warm-up and at the end. Goal: no replica's PSS grows by more than 5%.
- flaky LLM: calls while the LLM endpoint (a real local server speaking the OpenAI protocol)
  fails a share of its requests with 500s, timeouts and invalid JSON. Every call must end completed
  or partial with the offline analysis standing in; the partial ones are then retried through the
  API with the endpoint healthy and must complete.
- rollout: calls at a steady pace while `serve deploy` rolls out, first a changed user_config
  (recognizer options, A/B weights: applied in place), then a changed model (the base arm's
  recognizer: the application's args change, so every deployment gets new replicas). Every call
  must end completed, stored and finished once, and name the variant and the per-stage models
  that served it (the new recognizer model once the switch is done, the old one before it).
  Runs last: it leaves the app on the rolled-out config.

Writes its table to bench/RESULTS.md ("Reliability") and into docs/reliability.md between the
`reliability-figures` markers.

Usage: python bench/reliability.py [--burst 100] [--chaos 30] [--no-second-node] [--flaky 20] [--flaky-rate 0.3]
                                   [--soak 300] [--rollout 20] [--pg-restart 6]
(a phase given 0 is skipped: `--burst 0 --chaos 0 --flaky 0 --soak 0 --rollout 0 --pg-restart 3` runs only pg_restart)
"""

from __future__ import annotations

import argparse
import copy
import logging
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import DATA, default_cache_dir, machine, offline_models, write_section  # noqa: E402
from bench.resources import ResourceSampler  # noqa: E402
from bench.serve_app import APP, RunningApp, app_section, bench_profile, deployment_section, running_app  # noqa: E402
from callytics_ray.audio import load_audio  # noqa: E402
from callytics_ray.errors import AudioError  # noqa: E402
from callytics_ray.settings import serve_app_settings  # noqa: E402
from callytics_ray.storage import make_engine  # noqa: E402
from callytics_ray.storage.keys import create_api_key  # noqa: E402
from deployments.local_cluster import WorkerNode  # noqa: E402
from tests.nlp.llm_server import ChatServer  # noqa: E402
from tests.postgres_server import OwnPostgres  # noqa: E402

logger = logging.getLogger("bench.reliability")

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "reliability.md"
FINAL = {"completed", "partial", "failed"}
# Real recordings the clips are cut from (mono meetings and broadcast turns, and two dual-channel calls).
SOURCES = ("dev00.wav", "dev01.wav", "trn00.wav", "trn03.wav", "trn07.wav", "paa_diar_4spk.wav")
WHOLE = ("stereo_diarization.wav", "synthetic_stereo_call_bleed.wav", "falcon_3spk.wav", "paa_diar_6spk.wav")


# --- the recordings -------------------------------------------------------------------------


def make_clips(work: Path, data: Path, seconds: float = 8.0) -> list[Path]:
    """Short real clips, each with different content (so idempotency fingerprints differ), all
    with speech: a cut the audio stage refuses (a far-field stretch Silero hears as silence) would
    only measure refusals."""
    candidates: list[Path] = [data / name for name in WHOLE]
    for name in SOURCES:
        for offset in (0.0, 10.0, 20.0):
            out = work / f"{Path(name).stem}_{int(offset):02d}.wav"
            subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-ss", str(offset), "-t", str(seconds),
                            "-i", str(data / name), str(out)], check=True)
            candidates.append(out)
    clips = []
    for clip in candidates:
        try:
            load_audio(clip)
        except AudioError as err:
            logger.info("clip %s left out: %s", clip.name, err)
            continue
        clips.append(clip)
    return clips


# --- a well-behaved client that counts what it sees ------------------------------------------


@dataclass
class Tally:
    """Answers seen by status code, and requests that got no answer at all."""

    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: int = 0
    # 503s that were not `database_unavailable` with a Retry-After (what a client is promised).
    unexplained_503: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, response: httpx.Response) -> None:
        with self.lock:
            self.statuses[response.status_code] += 1
            if response.status_code == 503 and not (
                    "Retry-After" in response.headers and error_code(response) == "database_unavailable"):
                self.unexplained_503 += 1

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


def error_code(response: httpx.Response) -> str | None:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def send(client: httpx.Client, tally: Tally, method: str, url: str, *,
         files: Callable[[], dict[str, Any]] | None = None, resend_on_failure: bool = False, max_tries: int = 40,
         **kwargs: Any) -> httpx.Response:
    """One request; a 429 is waited out (its Retry-After) and sent again. With `resend_on_failure`
    (idempotent requests only: reads, and uploads carrying an idempotency key) a 5xx or a dropped
    connection is sent again after a pause (a 503's Retry-After), as a client facing a restarting
    server would.
    `files` builds the multipart files afresh for each attempt."""
    for _ in range(max_tries):
        try:
            response = client.request(method, url, files=files() if files else None, **kwargs)
        except httpx.TransportError:
            with tally.lock:
                tally.transport_errors += 1
            if not resend_on_failure:
                raise
            time.sleep(2.0)
            continue
        tally.count(response)
        if response.status_code == 429:
            time.sleep(float(response.headers.get("Retry-After", "1")) + random.uniform(0, 0.5))
        elif response.status_code >= 500 and resend_on_failure:
            time.sleep(float(response.headers.get("Retry-After", "2")))
        else:
            return response
    return response


def submit(client: httpx.Client, tally: Tally, path: Path, *, key: str | None, wait: bool = False) -> httpx.Response:
    """Upload `path`; with `wait` the answer comes when the call is final (`?wait=true`)."""
    data = {"idempotency_key": key} if key else {}
    return send(client, tally, "POST", "/v1/calls", data=data, resend_on_failure=key is not None,
                params={"wait": "true"} if wait else None,
                files=lambda: {"file": (path.name, path.read_bytes(), "audio/wav")})


def wait_final(client: httpx.Client, tally: Tally, call_ids: set[str], timeout_s: float) -> dict[str, dict[str, Any]]:
    """Poll the call list (one request per round, not one per call) until every call is final."""
    deadline, records = time.monotonic() + timeout_s, {}
    while time.monotonic() < deadline:
        records = {}
        offset = 0
        while True:
            page = send(client, tally, "GET", "/v1/calls", params={"limit": 500, "offset": offset},
                        resend_on_failure=True).json()
            records.update({r["id"]: r for r in page["items"]})
            offset += len(page["items"])
            if offset >= page["total"] or not page["items"]:
                break
        if all(records.get(i, {}).get("status") in FINAL for i in call_ids):
            return records
        time.sleep(3.0)
    return records


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def latency_s(record: dict[str, Any]) -> float:
    return (datetime.fromisoformat(record["updated_at"]) - datetime.fromisoformat(record["created_at"])).total_seconds()


# --- phases ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    phase: str
    figures: dict[str, Any]
    ok: bool
    note: str = ""


def new_keys(app: RunningApp, n: int, tenant: str) -> list[str]:
    engine = make_engine(serve_app_settings(app.config, "callytics").database_url)
    return [create_api_key(engine, tenant=tenant, scopes=("submit", "read"))[0] for _ in range(n)]


def client_for(app: RunningApp, key: str) -> httpx.Client:
    return httpx.Client(base_url=app.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=600)


def burst(app: RunningApp, clips: list[Path], *, calls: int, duplicates: int, keys: int) -> Row:
    """`calls` distinct calls at once, half with idempotency keys, `duplicates` of those keys sent twice."""
    secrets = new_keys(app, keys + 1, tenant="burst")
    clients = [client_for(app, s) for s in secrets[:keys]]
    reader = client_for(app, secrets[-1])
    tally = Tally()
    # Call i: clip i % len(clips); the same clip with the same key would be a replay, so keyed calls
    # use distinct (clip, key) pairs and un-keyed ones may share clips.
    jobs = [(i, clips[i % len(clips)], f"burst-{i}" if i % 2 == 0 else None) for i in range(calls)]
    jobs += [(i, path, key) for i, path, key in jobs if key][:duplicates]  # the same key and content again
    random.Random(7).shuffle(jobs)
    started = time.monotonic()
    with ResourceSampler(app.cluster.pids) as sampler:
        with ThreadPoolExecutor(len(jobs)) as pool:
            answers = list(pool.map(lambda job: (job, submit(clients[job[0] % keys], tally, job[1], key=job[2])), jobs))
        accepted = {a.json()["id"] for _, a in answers if a.status_code in (200, 202)}
        records = wait_final(reader, tally, accepted, timeout_s=3600)
    wall_s = time.monotonic() - started
    keyed_ids: dict[str, set[str]] = {}
    for (_, _, key), answer in answers:
        if key and answer.status_code in (200, 202):
            keyed_ids.setdefault(key, set()).add(answer.json()["id"])
    stored = [r for r in records.values() if r["tenant"] == "burst"]
    statuses = Counter(r["status"] for r in stored)
    latencies = [latency_s(r) for r in stored if r["status"] in FINAL]
    figures = {
        "requests": len(jobs), "accepted": len(accepted), "stored": len(stored),
        "duplicated": len(stored) - len({r["id"] for r in stored}) + sum(len(v) - 1 for v in keyed_ids.values()),
        "lost": len(accepted - {r["id"] for r in stored}),
        "completed": statuses.get("completed", 0), "partial": statuses.get("partial", 0),
        "failed": statuses.get("failed", 0), "not_final": sum(1 for r in stored if r["status"] not in FINAL),
        "429": tally.statuses.get(429, 0), "5xx": tally.server_errors,
        "p50_s": round(percentile(latencies, 0.5), 1), "p95_s": round(percentile(latencies, 0.95), 1),
        "max_s": round(max(latencies, default=float("nan")), 1), "wall_s": round(wall_s, 1),
        "peak_pss_gb": round(sampler.usage.peak_pss_gb, 2),
    }
    ok = (figures["stored"] == calls and figures["duplicated"] == 0 and figures["lost"] == 0
          and figures["5xx"] == 0 and figures["completed"] == calls)
    for c in (*clients, reader):
        c.close()
    return Row("burst", figures, ok, f"{calls} calls, {calls // 2} with idempotency keys, {duplicates} keys sent "
                                     f"twice, {keys} API keys at {rate_limit(app)} requests/min each")


def rate_limit(app: RunningApp) -> int:
    return int(app_section(app.config)["args"]["settings"]["api"]["rate_limit_per_minute"])


def flaky_llm(app: RunningApp, llm: ChatServer, clips: list[Path], *, calls: int, rate: float) -> Row:
    """Calls while the endpoint fails `rate` of its requests; then the partial ones retried, healthy."""
    secret = new_keys(app, 1, tenant="flaky")[0]
    tally = Tally()
    llm.failure_rate = rate
    llm.requests.clear()
    with client_for(app, secret) as client:
        with ThreadPoolExecutor(4) as pool:  # a steady stream, not a burst: the faults are the point
            answers = list(pool.map(lambda p: submit(client, tally, p, key=None), clips[:calls]))
        ids = {a.json()["id"] for a in answers if a.status_code == 202}
        first = wait_final(client, tally, ids, timeout_s=1800)
        llm_requests = len(llm.requests)
        partial = [i for i in ids if first[i]["status"] == "partial"]
        offline_standing_in = sum(
            1 for i in partial
            if (send(client, tally, "GET", f"/v1/calls/{i}").json().get("result") or {}).get("analysis", {}).get("analyzer") == "offline"
        )
        llm.failure_rate = 0.0
        for i in partial:
            send(client, tally, "POST", f"/v1/calls/{i}/retry")
        second = wait_final(client, tally, set(partial), timeout_s=1800)
    statuses = Counter(first[i]["status"] for i in ids)
    figures = {
        "calls": len(ids), "llm_requests": llm_requests, "completed_first": statuses.get("completed", 0),
        "partial_first": len(partial), "offline_standing_in": offline_standing_in,
        "failed": statuses.get("failed", 0), "not_final": sum(1 for i in ids if first[i]["status"] not in FINAL),
        "completed_after_retry": sum(1 for i in partial if second[i]["status"] == "completed"),
        "5xx": tally.server_errors,
    }
    ok = (figures["failed"] == 0 and figures["not_final"] == 0 and offline_standing_in == len(partial)
          and figures["completed_after_retry"] == len(partial) and figures["5xx"] == 0)
    return Row("flaky LLM", figures, ok, f"endpoint failing {rate:.0%} of requests (500, timeout, invalid JSON)")


def replica_pids(app: RunningApp) -> dict[str, list[int]]:
    """Running replicas' pids per deployment, from the Serve REST API."""
    deployments = app.cluster.serve_details()["applications"]["callytics"]["deployments"]
    return {name: [r["pid"] for r in d.get("replicas", []) if r.get("state") == "RUNNING"]
            for name, d in deployments.items()}


def gateway_log_lines(app: RunningApp, pattern: str) -> list[str]:
    """Lines matching `pattern` in every api-gateway replica's log, dead replicas' too, on every node."""
    lines: list[str] = []
    for logs in app.cluster.log_dirs:
        for path in logs.glob(f"serve/replica_{APP}_api-gateway_*.log"):
            lines += [line for line in path.read_text(errors="replace").splitlines() if re.search(pattern, line)]
    return lines


def stores_per_call(app: RunningApp) -> Counter[str]:
    """How often each call was stored: every run that stores a call logs "call <id>: stored by <worker>"."""
    return Counter(m.group(1) for line in gateway_log_lines(app, r"call \S+: stored by")
                   if (m := re.search(r"call (\S+): stored by", line)))


def kill_every_deployment(app: RunningApp, rng: random.Random, gap_s: tuple[float, float]) -> Counter[str]:
    """SIGKILL one running replica of each deployment, in random order, `gap_s` apart."""
    killed: Counter[str] = Counter()
    names = sorted(replica_pids(app))
    rng.shuffle(names)
    for name in names:
        time.sleep(rng.uniform(*gap_s))
        pids = replica_pids(app).get(name) or []
        if not pids:
            continue
        pid = rng.choice(pids)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
        killed[name] += 1
        logger.info("chaos: killed %s replica pid %d", name, pid)
    return killed


def replicas_on(app: RunningApp, node: WorkerNode) -> list[str]:
    """The deployments of the running replicas whose process belongs to `node` (one entry each)."""
    on_node = set(node.pids())
    return sorted(name for name, pids in replica_pids(app).items() for pid in pids if pid in on_node)


def kill_node(app: RunningApp, node: WorkerNode, rng: random.Random, gap_s: tuple[float, float]) -> list[str]:
    """After a pause, SIGKILL `node`'s raylet; the replicas that ran on the node then. Returns once
    every deployment has a live replica again (Serve restarted the node's replicas on the head)."""
    time.sleep(rng.uniform(*gap_s))
    victims, lost = replicas_on(app, node), set(node.pids())
    node.kill_raylet()
    logger.info("chaos: killed the second node's raylet; replicas on it: %s", victims)
    # Serve lists the lost replicas as running until the head has declared the node dead.
    lost_at = time.monotonic()
    # Only the deployments the node took: a deployment scaled to zero (an idle A/B arm) has none to replace.
    while not all(set(pids) - lost for name, pids in replica_pids(app).items() if name in victims):
        if time.monotonic() > lost_at + 600:
            raise TimeoutError("Serve did not replace the lost node's replicas in 600 s")
        time.sleep(2.0)
    logger.info("chaos: every deployment the node took has a replica again, %.0f s after it was lost", time.monotonic() - lost_at)
    return victims


def chaos(app: RunningApp, clips: list[Path], *, calls: int, gap_s: tuple[float, float],
          node: WorkerNode | None = None) -> Row:
    """`calls` calls at a steady pace while (with `node`) the raylet of the second node is killed,
    taking every replica on it at once, then a replica of every deployment at random moments.

    Every upload carries an idempotency key, so the client may send it again when the gateway dies
    under it. Afterwards: every call final, none stored twice, none finished twice (a run that lost
    its lease stores nothing).
    """
    secret = new_keys(app, 1, tenant="chaos")[0]
    tally, rng = Tally(), random.Random(5)
    started = time.monotonic()
    node_victims: list[str] = []
    with client_for(app, secret) as client, ThreadPoolExecutor(1) as chaos_thread:
        def faults() -> Counter[str]:
            # The node first, while Serve's first placement stands (the replica kills below start
            # replacements that may land anywhere).
            if node is not None:
                node_victims.extend(kill_node(app, node, rng, gap_s))
            return kill_every_deployment(app, rng, gap_s)

        killing = chaos_thread.submit(faults)
        with ThreadPoolExecutor(3) as pool:
            answers = list(pool.map(lambda i: submit(client, tally, clips[i % len(clips)], key=f"chaos-{i}"),
                                    range(calls)))
        ids = {a.json()["id"] for a in answers if a.status_code in (200, 202)}
        killed = killing.result()  # every deployment (and the node) is hit, while calls are still being analysed
        records = wait_final(client, tally, ids, timeout_s=3600)
    stored = {i: r for i, r in records.items() if r["tenant"] == "chaos"}
    statuses = Counter(r["status"] for r in stored.values())
    stores = stores_per_call(app)
    superseded = len(gateway_log_lines(app, r"no longer holds the lease"))
    deployments = {name for name, pids in replica_pids(app).items() if pids}  # scaled to zero: nothing to kill
    figures = {
        "calls": calls, "stored": len(stored), "lost": len(ids - set(stored)),
        "completed": statuses.get("completed", 0), "partial": statuses.get("partial", 0),
        "failed": statuses.get("failed", 0), "not_final": sum(1 for r in stored.values() if r["status"] not in FINAL),
        "failed_without_reason": sum(1 for r in stored.values() if r["status"] in ("failed", "partial") and not r["error"]),
        "finished_twice": sum(1 for i in stored if stores[i] > 1), "superseded_runs": superseded,
        "replicas_killed": sum(killed.values()), "deployments_hit": f"{len(killed)}/{len(deployments)}",
        "5xx_resent": tally.server_errors, "dropped_connections_resent": tally.transport_errors,
        "wall_s": round(time.monotonic() - started, 1),
    }
    if node is not None:
        figures["raylet_kill_took"] = f"{len(node_victims)} replicas ({', '.join(node_victims) or 'none'})"
    ok = (len(ids) == calls and figures["stored"] == calls and figures["lost"] == 0 and figures["not_final"] == 0
          and figures["failed_without_reason"] == 0 and figures["finished_twice"] == 0
          and set(killed) == deployments and (node is None or bool(node_victims)))
    node_kill = ("the raylet of a second node (Serve spread the replicas over two nodes) killed with SIGKILL, then "
                 if node is not None else "")
    note = (f"{calls} calls, 3 at a time; {node_kill}one replica of each deployment (gateway and database service "
            f"included) killed with SIGKILL, {gap_s[0]:g}-{gap_s[1]:g} s apart")
    return Row("chaos, second node" if node is not None else "chaos", figures, ok, note)


def pg_restart(app: RunningApp, server: OwnPostgres, clips: list[Path], *, calls: int, outage_s: float) -> Row:
    """`calls` calls submitted before the PostgreSQL server stops, `calls` while it is down, and
    `calls` after it is back; the first ones are being analysed when it stops.

    Every upload carries an idempotency key: a client that got a 503 sends it again after its
    Retry-After. Afterwards: every call final, stored once (one call per key), finished once.
    """
    secret = new_keys(app, 1, tenant="pg-restart")[0]
    tally = Tally()
    started = time.monotonic()
    with client_for(app, secret) as client, ThreadPoolExecutor(calls) as pool:
        def one(i: int) -> httpx.Response:
            return submit(client, tally, clips[i % len(clips)], key=f"pg-{i}")

        before = list(pool.map(one, range(calls)))  # accepted; the analyses run on
        server.stop()
        outage_started = time.monotonic()
        during = [pool.submit(one, calls + i) for i in range(calls)]  # each meets the outage, then retries
        time.sleep(outage_s)
        server.start()
        outage = time.monotonic() - outage_started
        logger.info("pg_restart: PostgreSQL was down %.1f s", outage)
        answered_during = [f.result() for f in during]
        after = list(pool.map(one, range(2 * calls, 3 * calls)))
        answers = before + answered_during + after
        ids_by_key = {f"pg-{i}": a.json()["id"] for i, a in enumerate(answers) if a.status_code in (200, 202)}
        records = wait_final(client, tally, set(ids_by_key.values()), timeout_s=1800)
    stored = {i: r for i, r in records.items() if r["tenant"] == "pg-restart"}
    statuses = Counter(r["status"] for r in stored.values())
    stores = stores_per_call(app)
    unavailable = tally.statuses.get(503, 0)
    figures = {
        "calls": 3 * calls, "accepted": len(ids_by_key), "stored": len(stored),
        "lost": len(set(ids_by_key.values()) - set(stored)), "duplicated": len(stored) - len(set(ids_by_key.values())),
        "completed": statuses.get("completed", 0), "partial": statuses.get("partial", 0),
        "failed": statuses.get("failed", 0), "not_final": sum(1 for r in stored.values() if r["status"] not in FINAL),
        "failed_without_reason": sum(1 for r in stored.values() if r["status"] in ("failed", "partial") and not r["error"]),
        "finished_twice": sum(1 for i in stored if stores[i] > 1),
        # Runs that met the outage mid-analysis and left their call to the reconciler.
        "runs_interrupted": len(gateway_log_lines(app, r"the database is unavailable \(")),
        "503": unavailable, "503_without_retry_after": tally.unexplained_503,
        "other_5xx": tally.server_errors - unavailable, "dropped_connections": tally.transport_errors,
        "outage_s": round(outage, 1), "wall_s": round(time.monotonic() - started, 1),
    }
    ok = (figures["accepted"] == 3 * calls and figures["stored"] == 3 * calls and figures["lost"] == 0
          and figures["duplicated"] == 0 and figures["not_final"] == 0 and figures["failed_without_reason"] == 0
          and figures["finished_twice"] == 0 and unavailable > 0 and tally.unexplained_503 == 0
          and figures["other_5xx"] == 0)
    return Row("pg_restart", figures, ok, f"the app on PostgreSQL; {calls} calls submitted before the server stops "
                                          f"(analysed during the outage), {calls} during it, {calls} after; "
                                          f"server down {outage_s:g} s; the client resends after each 503's Retry-After")


def postgres_app_config(config: dict[str, Any], url: str) -> dict[str, Any]:
    """`config` with its database on PostgreSQL at `url`."""
    config = copy.deepcopy(config)
    app_section(config)["args"]["settings"]["database_url"] = url
    return config


@dataclass(frozen=True)
class ReplicaSample:
    pss_mb: float
    fds: int
    threads: int


def sample_replicas(app: RunningApp) -> dict[str, ReplicaSample]:
    """PSS, open file descriptors and threads of every running replica, by deployment (and pid)."""
    samples: dict[str, ReplicaSample] = {}
    for name, pids in replica_pids(app).items():
        for pid in pids:
            try:
                process = psutil.Process(pid)
                samples[f"{name}:{pid}"] = ReplicaSample(process.memory_full_info().pss / 2**20, process.num_fds(),
                                                          process.num_threads())
            except psutil.Error:
                continue
    return samples


def median_samples(windows: list[dict[str, ReplicaSample]]) -> dict[str, ReplicaSample]:
    """Per replica, the median PSS, descriptors and threads over samples taken after several
    calls: one sample is only where a replica's heap happened to stand after its last batch (the
    recognizer alone moves 226-303 MB from call to call in one process, with no trend)."""
    keys = set.intersection(*(set(w) for w in windows)) if windows else set()
    return {k: ReplicaSample(statistics.median(w[k].pss_mb for w in windows),
                             round(statistics.median(w[k].fds for w in windows)),
                             round(statistics.median(w[k].threads for w in windows))) for k in keys}


def soak(app: RunningApp, clips: list[Path], *, calls: int, warmup: int, max_growth: float,
         window: int = 10) -> Row:
    """`calls` calls one after another after `warmup` calls; every replica's memory, descriptors
    and threads compared between the medians of samples after each of the first and of the last
    `window` calls, and the object store between the start and the end."""
    secret = new_keys(app, 1, tenant="soak")[0]
    tally = Tally()
    window = max(1, min(window, calls // 2))
    first: list[dict[str, ReplicaSample]] = []
    last: list[dict[str, ReplicaSample]] = []
    with client_for(app, secret) as client:
        def one(i: int) -> str:
            clip = clips[i % len(clips)]
            reply = send(client, tally, "POST", "/v1/calls", params={"wait": "true"},
                         files=lambda: {"file": (clip.name, clip.read_bytes(), "audio/wav")})
            return reply.json()["status"] if reply.status_code < 300 else f"http {reply.status_code}"

        for i in range(warmup):
            one(i)
        store_before = app.cluster.object_store_used_bytes()
        started = time.monotonic()
        statuses: Counter[str] = Counter()
        for i in range(calls):
            statuses[one(warmup + i)] += 1
            if i < window:
                first.append(sample_replicas(app))
            if i >= calls - window:
                last.append(sample_replicas(app))
        wall_s = time.monotonic() - started
        store_after = app.cluster.object_store_used_bytes()
    before, after = median_samples(first), median_samples(last)
    same = sorted(before.keys() & after.keys())  # a replica restarted mid-run has no baseline
    growth = {k: (after[k].pss_mb - before[k].pss_mb) / before[k].pss_mb for k in same}
    worst = max(growth, key=growth.get) if growth else "none"
    figures = {
        "calls": calls, "completed": statuses.get("completed", 0), "5xx": tally.server_errors,
        "replicas": len(same), "restarted_replicas": len(before.keys() ^ after.keys()),
        "worst_pss_growth": f"{growth.get(worst, 0.0):+.1%} ({worst.split(':')[0]})",
        "total_pss_mb": f"{sum(before[k].pss_mb for k in same):.0f} -> {sum(after[k].pss_mb for k in same):.0f}",
        "fds_delta": sum(after[k].fds - before[k].fds for k in same),
        "threads_delta": sum(after[k].threads - before[k].threads for k in same),
        "object_store_mb": f"{store_before / 2**20:.1f} -> {store_after / 2**20:.1f}",
        "calls_per_min": round(calls / wall_s * 60, 1),
    }
    per_replica = ", ".join(f"{k.split(':')[0]} {growth[k]:+.1%}" for k in same)
    ok = (figures["completed"] == calls and figures["5xx"] == 0 and figures["restarted_replicas"] == 0
          and all(g <= max_growth for g in growth.values())
          and all(after[k].fds - before[k].fds <= 4 and after[k].threads - before[k].threads <= 4 for k in same)
          and store_after <= store_before + 8 * 2**20)
    return Row("soak", figures, ok, f"{calls} calls one after another after {warmup} warm-up calls; growth = median "
                                    f"of samples after each of the last {window} calls over that after each of the "
                                    f"first {window}; goal: every replica's PSS grows at most {max_growth:.0%}; "
                                    f"per replica: {per_replica}")


# --- rollout ---------------------------------------------------------------------------------

OLD_ASR_MODEL, NEW_ASR_MODEL = "bundled:whisper-base", "bundled:whisper-tiny.en"
STAGES_WITH_MODELS = ("asr", "diarization", "punctuation", "sentiment", "llm")


def rollout_configs(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two configs the rollout phase deploys over `config`: first a user_config change (the
    base recognizer's beam size, and a share of the calls moved to the tiny-en arm), then, on top
    of it, a changed model (the base arm's recognizer switched to Whisper tiny.en), which Serve
    rolls out as new replicas: the application's args change."""
    options = copy.deepcopy(config)
    recognizer = deployment_section(options, "speech-recognizer-base").setdefault("user_config", {})
    recognizer.setdefault("options", {})["beam_size"] = 2
    gateway = deployment_section(options, "api-gateway").setdefault("user_config", {})
    gateway["variant_weights"] = {"base": 0.75, "tiny-en": 0.25}
    model = copy.deepcopy(options)
    variants = app_section(model)["args"]["settings"]["api"]["variants"]
    base = next(v for v in variants if v["name"] == "base")
    if base.get("asr_model", OLD_ASR_MODEL) != OLD_ASR_MODEL:
        raise ValueError(f"the rollout phase expects the base arm on {OLD_ASR_MODEL}, got {base['asr_model']}")
    base["asr_model"] = NEW_ASR_MODEL
    return options, model


@dataclass(frozen=True)
class Deploy:
    """One `serve deploy` of the phase: when it was sent and when the app ran the new config."""

    started: datetime
    done: datetime

    @property
    def seconds(self) -> float:
        return (self.done - self.started).total_seconds()


def as_utc(stamp: str) -> datetime:
    """An API timestamp as an aware UTC datetime (the store may give it without a zone)."""
    moment = datetime.fromisoformat(stamp)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _deploy(app: RunningApp, config: dict[str, Any], work: Path) -> Deploy:
    started = datetime.now(timezone.utc)
    app.redeploy(config, work)
    return Deploy(started, datetime.now(timezone.utc))


def expected_asr_models(variant: str | None, created: datetime, finished: datetime, switch: Deploy) -> set[str]:
    """The recognizer models that may have served a call: the tiny-en arm runs tiny.en throughout;
    the base arm ran whisper-base until the model switch began and tiny.en once it was done; a call
    that ran while the switch rolled may name either, but nothing else."""
    if variant == "tiny-en":
        return {NEW_ASR_MODEL}
    if finished <= switch.started:
        return {OLD_ASR_MODEL}
    if created >= switch.done:
        return {NEW_ASR_MODEL}
    return {OLD_ASR_MODEL, NEW_ASR_MODEL}


class Probe:
    """Reads the call list every `every_s` seconds in a thread while a rollout runs: does the API
    answer? (A 429 is an answer: give the probe its own key, under the rate limit.)"""

    def __init__(self, client: httpx.Client, every_s: float = 4.0) -> None:
        self.client, self.every_s = client, every_s
        self.latencies_s: list[float] = []
        self.failures: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Probe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(120)
        self.client.close()

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            began = time.monotonic()
            try:
                status = self.client.get("/v1/calls", params={"limit": 1}, timeout=60).status_code
            except httpx.HTTPError as err:
                self.failures[type(err).__name__] += 1
                continue
            if status not in (200, 429):
                self.failures[str(status)] += 1
            else:
                self.latencies_s.append(time.monotonic() - began)

    def figures(self) -> dict[str, Any]:
        return {"probes": len(self.latencies_s) + sum(self.failures.values()),
                "probes_failed": sum(self.failures.values()),
                "probe_max_s": round(max(self.latencies_s, default=0.0), 1)}


def rollout(app: RunningApp, clips: list[Path], work: Path, *, calls: int, gap_s: float) -> Row:
    """`calls` calls, one every `gap_s` seconds: after a quarter of them a `serve deploy` of changed
    user_config, after half of them one of a changed model (new recognizer replicas, and, as the
    application's args change, new replicas of every deployment); the last quarter is sent once
    the switch is done, so the new model must be seen serving.

    Every upload carries an idempotency key, so a client may send it again when a gateway replica
    goes away under it (counted). Afterwards every call must be completed, stored once and finished
    once, and name the variant and per-stage models that served it.
    """
    secret, probe_secret = new_keys(app, 2, tenant="rollout")
    tally = Tally()
    options_config, model_config = rollout_configs(app.config)
    quarter = max(1, calls // 4)
    deploys: dict[str, Deploy] = {}
    weights: dict[str, float] = {}
    probes: dict[str, Any] = {}
    half_sent = threading.Event()
    started = time.monotonic()

    def roll() -> None:
        deploys["user_config"] = _deploy(app, options_config, work)
        logger.info("rollout: user_config deployed in %.1f s", deploys["user_config"].seconds)
        report = send(client, tally, "GET", "/v1/experiments", resend_on_failure=True).json()
        weights.update({v["variant"]: v["weight"] for v in report["variants"]})
        half_sent.wait()
        with Probe(client_for(app, probe_secret)) as probe:
            deploys["model"] = _deploy(app, model_config, work)
        probes.update(probe.figures())
        logger.info("rollout: model switch deployed in %.1f s", deploys["model"].seconds)

    with client_for(app, secret) as client, ThreadPoolExecutor(calls) as pool, ThreadPoolExecutor(1) as deployer:
        pending, rolling, next_at = [], None, time.monotonic()
        for i in range(calls):
            if i == quarter:
                rolling = deployer.submit(roll)
            elif i == 2 * quarter:
                half_sent.set()
            elif i == 3 * quarter and rolling is not None:
                rolling.result()  # the rest only once the new model serves
                next_at = time.monotonic()
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at += gap_s
            # Every other client waits for its result on the connection (`?wait=true`): a gateway
            # replica going away must not cut those off either.
            clip = clips[i % len(clips)]
            pending.append(pool.submit(submit, client, tally, clip, key=f"rollout-{i}", wait=i % 2 == 1))
        half_sent.set()
        if rolling is not None:
            rolling.result()
        answers = [p.result() for p in pending]
        ids = [a.json()["id"] for a in answers if a.status_code in (200, 202)]
        records = wait_final(client, tally, set(ids), timeout_s=1800)
        views = {i: send(client, tally, "GET", f"/v1/calls/{i}", resend_on_failure=True).json() for i in ids}
    stored = {i: r for i, r in records.items() if r["tenant"] == "rollout"}
    statuses = Counter(r["status"] for r in stored.values())
    stores = Counter(m.group(1) for line in gateway_log_lines(app, r"call \S+: stored by")
                     if (m := re.search(r"call (\S+): stored by", line)))
    switch = deploys["model"]
    expected_weights = deployment_section(options_config, "api-gateway")["user_config"]["variant_weights"]
    models = {i: (v.get("result") or {}).get("models") or {} for i, v in views.items()}
    # Stages the rollout did not change must name what they ran before it, on every call.
    unchanged = {stage: Counter(m.get(stage) for m in models.values()).most_common(1)[0][0]
                 for stage in STAGES_WITH_MODELS[1:]} if models else {}
    wrong_model = [
        i for i, v in views.items()
        if models[i].get("asr") not in expected_asr_models(
            v.get("variant"), as_utc(v["created_at"]), as_utc(v["updated_at"]), switch)
        or any(models[i].get(stage) != name for stage, name in unchanged.items())
    ]
    early_tiny = [i for i, v in views.items()
                  if v.get("variant") == "tiny-en" and as_utc(v["created_at"]) < deploys["user_config"].started]

    def in_flight(deploy: Deploy) -> int:
        """Calls accepted before `deploy` was done and finished after it began."""
        return sum(1 for v in views.values()
                   if as_utc(v["created_at"]) < deploy.done and as_utc(v["updated_at"]) > deploy.started)

    def own(pattern: str) -> list[str]:
        """The gateways' log lines matching `pattern` that are about this phase's calls."""
        return [line for line in gateway_log_lines(app, pattern) if any(i in line for i in ids)]

    asr = Counter(m.get("asr") for m in models.values())
    figures = {
        "calls": calls, "accepted": len(ids), "stored": len(stored), "lost": len(set(ids) - set(stored)),
        "duplicated": len(ids) - len(set(ids)),
        "completed": statuses.get("completed", 0), "partial": statuses.get("partial", 0),
        "failed": statuses.get("failed", 0), "not_final": sum(1 for r in stored.values() if r["status"] not in FINAL),
        "finished_twice": sum(1 for i in stored if stores[i] > 1),
        "in_flight_user_config": in_flight(deploys["user_config"]), "in_flight_model": in_flight(switch),
        "after_switch": sum(1 for v in views.values() if as_utc(v["created_at"]) >= switch.done),
        "weights_applied": weights == expected_weights,
        "runs_cancelled": len(own(r"cancelled; the lease is released")),
        "stage_retries": len(own(r"attempt \d+ failed")),
        "user_config_s": round(deploys["user_config"].seconds, 1), "model_switch_s": round(switch.seconds, 1),
        "variants": dict(Counter(v.get("variant") for v in views.values())),
        "asr_models": {str(k).removeprefix("bundled:"): n for k, n in asr.items()},
        "missing_models": sum(1 for m in models.values() if any(not m.get(s) for s in STAGES_WITH_MODELS)),
        "wrong_model": len(wrong_model), "tiny_en_before_weights": len(early_tiny),
        **probes,
        "waited_answers_completed": f"{sum(1 for a in answers[1::2] if a.json().get('status') == 'completed')}"
                                    f"/{len(answers[1::2])}",
        "5xx_resent": tally.server_errors, "dropped_connections_resent": tally.transport_errors,
        "wall_s": round(time.monotonic() - started, 1),
    }
    if wrong_model:
        logger.warning("rollout: calls naming a model that cannot have served them: %s",
                       {i: (views[i].get("variant"), models[i]) for i in wrong_model})
    ok = (len(ids) == calls and figures["stored"] == calls and figures["lost"] == 0 and figures["duplicated"] == 0
          and figures["completed"] == calls and figures["finished_twice"] == 0 and figures["missing_models"] == 0
          and figures["wrong_model"] == 0 and figures["tiny_en_before_weights"] == 0
          and figures["in_flight_user_config"] > 0 and figures["in_flight_model"] > 0
          and figures["after_switch"] > 0 and figures["weights_applied"]
          and figures["5xx_resent"] == 0 and figures["dropped_connections_resent"] == 0
          and figures["probes_failed"] == 0)
    return Row("rollout", figures, ok, f"{calls} calls, one every {gap_s:g} s, every other one with "
                                       f"`?wait=true`; `serve deploy` of a user_config change "
                                       f"(base recognizer beam_size 2, A/B weights 0.75/0.25) after {quarter}, of a "
                                       f"model change (base arm {OLD_ASR_MODEL} -> {NEW_ASR_MODEL}) after "
                                       f"{2 * quarter}, the last {calls - 3 * quarter} once it was done")


# --- report ----------------------------------------------------------------------------------


def table(rows: list[Row]) -> str:
    lines = ["| phase | result | figures | setup |", "| --- | --- | --- | --- |"]
    for row in rows:
        figures = ", ".join(f"{k} {v}" for k, v in row.figures.items())
        lines.append(f"| {row.phase} | {'pass' if row.ok else 'FAIL'} | {figures} | {row.note} |")
    return "\n".join(lines)


def write_doc(body: str) -> None:
    """Replace the figures between the markers of docs/reliability.md."""
    text = DOC.read_text()
    stamp = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    block = f"<!-- reliability-figures -->\n_Measured {stamp} on {machine()}._\n\n{body}\n<!-- /reliability-figures -->"
    DOC.write_text(re.sub(r"<!-- reliability-figures -->.*?<!-- /reliability-figures -->", lambda _: block, text, flags=re.S))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=100, help="calls submitted at once")
    parser.add_argument("--duplicates", type=int, default=10, help="idempotency keys sent twice")
    parser.add_argument("--keys", type=int, default=4, help="API keys the burst is spread over")
    parser.add_argument("--rate-limit", type=int, default=20, help="requests per minute per key")
    parser.add_argument("--flaky", type=int, default=20, help="calls against the flaky LLM endpoint")
    parser.add_argument("--flaky-rate", type=float, default=0.3)
    parser.add_argument("--chaos", type=int, default=30, help="calls while replicas are killed")
    parser.add_argument("--chaos-gap", type=float, nargs=2, default=(3.0, 10.0), metavar=("MIN_S", "MAX_S"),
                        help="seconds between two kills")
    parser.add_argument("--second-node", action=argparse.BooleanOptionalAction, default=True,
                        help="run the first phases on two nodes and kill the second one's raylet in the chaos "
                             "phase (its Ray processes take about 0.5 GB)")
    parser.add_argument("--pg-restart", type=int, default=6,
                        help="calls before, during and after a PostgreSQL restart (each; the app runs on PostgreSQL)")
    parser.add_argument("--pg-outage", type=float, default=20.0, help="seconds the PostgreSQL server stays down")
    parser.add_argument("--soak", type=int, default=300, help="calls one after another, after the warm-up")
    parser.add_argument("--soak-warmup", type=int, default=20)
    parser.add_argument("--rollout", type=int, default=20, help="calls while `serve deploy` rolls out new config")
    parser.add_argument("--rollout-gap", type=float, default=5.0, help="seconds between two rollout calls")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    offline_models()

    work = Path(tempfile.mkdtemp(prefix="callytics-reliability-"))
    llm = ChatServer(seed=11).start()
    rows: list[Row] = []
    try:
        clips = make_clips(work, args.data)
        config = bench_profile(work, default_cache_dir())
        settings = app_section(config)["args"]["settings"]
        settings["api"].update(rate_limit_per_minute=args.rate_limit, lease_s=30.0, reconcile_interval_s=10.0)
        settings["llm"] = {"base_url": llm.base_url, "model": "flaky-test-model",
                           # No retry inside the client: each failure the server makes reaches the stage.
                           "options": {"timeout_s": 5.0, "max_retries": 0, "backoff_initial_s": 0.2}}
        llm.slow_s = 7.0
        if args.burst or args.chaos or args.flaky or args.soak or args.rollout:
            second_node = args.second_node and args.chaos > 0
            with running_app(config, work, worker_node_cpus=4 if second_node else 0) as app:
                if args.burst:
                    rows.append(burst(app, clips, calls=args.burst, duplicates=args.duplicates, keys=args.keys))
                    logger.info("%s", rows[-1])
                if args.chaos:
                    node = app.cluster.worker_nodes[0] if second_node else None
                    rows.append(chaos(app, clips, calls=args.chaos, gap_s=tuple(args.chaos_gap), node=node))
                    logger.info("%s", rows[-1])
                if args.flaky:
                    rows.append(flaky_llm(app, llm, clips, calls=args.flaky, rate=args.flaky_rate))
                    logger.info("%s", rows[-1])
                if args.soak:
                    rows.append(soak(app, clips, calls=args.soak, warmup=args.soak_warmup, max_growth=0.05))
                    logger.info("%s", rows[-1])
                if args.rollout:  # last: it leaves the app on the rolled-out config
                    rows.append(rollout(app, clips, work, calls=args.rollout, gap_s=args.rollout_gap))
                    logger.info("%s", rows[-1])
        if args.pg_restart:
            # A cluster of its own, after the first one stopped: two at once would not fit 2 cores.
            server = OwnPostgres.in_tmp()
            try:
                pg_config = postgres_app_config(config, server.start())
                with running_app(pg_config, work) as app:
                    rows.append(pg_restart(app, server, clips, calls=args.pg_restart, outage_s=args.pg_outage))
                    logger.info("%s", rows[-1])
            finally:
                server.remove()
    finally:
        llm.stop()
        shutil.rmtree(work, ignore_errors=True)
    body = table(rows)
    print(body)
    write_section("Reliability", body)
    write_doc(body)
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
