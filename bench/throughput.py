"""N calls submitted at once through the Serve app, against the same stages run one file at a time
in one process (the monolith baseline), side by side in one run.

Both sides use the deployed profile's Settings (same models, options and stages: the same
`run_call` orchestrator over `LocalStages` or over the deployments) and store every result in
SQLite. Order: baseline, Serve, baseline again, so drift between the phases shows. Reported per
phase: audio seconds per wall second, CPU busy share of the machine (/proc/stat) and the peak
memory of the processes doing the work (PSS sum: the bench process for the baseline, every
process of the Ray cluster for Serve).

Also reported for Serve: how long the app takes to become ready (cluster start, then deploy until
every deployment is healthy with its models loaded) and, per deployment and for Ray's own
processes, the CPU seconds and memory (PSS) during the timed phase: where the CPU and memory go.

Goals (issue 14, on this 2-core box): Serve >= 1.0x the monolith's throughput at 10 concurrent
calls, peak memory <= 3 GB PSS, ready in <= 30 s.

Usage: python bench/throughput.py [--calls 10] [--files dev00.wav ...] [--asr-replicas 1]
"""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass
from itertools import cycle, islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import DATA, SPEECH_FILES, default_cache_dir, machine, write_section  # noqa: E402
from bench.resources import ResourceSampler, Usage, cpu_seconds_by_group, load_average, ray_process_group  # noqa: E402
from bench.serve_app import bench_profile, deployment_section, profile_settings, running_app  # noqa: E402
from callytics_ray.pipeline import LocalStages, analyze_file  # noqa: E402
from callytics_ray.storage import CallStore  # noqa: E402
from deployments.local_cluster import session_pids  # noqa: E402

GOAL_RATIO, GOAL_PSS_GB, GOAL_READY_S = 1.0, 3.0, 30.0


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    audio_s: float
    usage: Usage
    stage_s: dict[str, float]  # mean seconds per call by stage

    @property
    def throughput(self) -> float:
        return self.audio_s / self.usage.wall_s


def mean_timings(results: list[dict]) -> dict[str, float]:
    stages = sorted({s for r in results for s in r["timings"]})
    return {s: statistics.mean(r["timings"].get(s, 0.0) for r in results) for s in stages}


def run_baseline(name: str, paths: list[Path], settings, stages: LocalStages, store: CallStore) -> Phase:
    with ResourceSampler(lambda: [os.getpid()]) as sampler:
        analyses = [analyze_file(p, settings, stages=stages, store=store) for p in paths]
    failed = [a.errors for a in analyses if a.errors]
    if failed:
        raise SystemExit(f"baseline calls failed: {failed}")
    return Phase(name, sum(a.audio.duration_s for a in analyses), sampler.usage,
                 mean_timings([a.model_dump(mode="json") for a in analyses]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--files", nargs="*", default=SPEECH_FILES)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--asr-replicas", type=int, default=None, help="speech-recognizer-base replicas (default: the profile's)")
    parser.add_argument("--max-concurrent-calls", type=int, default=None, help="per gateway replica (default: the settings')")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    paths = [args.data / f for f in islice(cycle(args.files), args.calls)]
    work = Path(tempfile.mkdtemp(prefix="throughput-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)  # databases of the run
    cache = default_cache_dir()
    config = bench_profile(work, cache, max_concurrent_calls=args.max_concurrent_calls)
    if args.asr_replicas:
        deployment_section(config, "speech-recognizer-base")["num_replicas"] = args.asr_replicas
    settings = profile_settings(config)
    load_before = load_average()

    # The monolith: one process, the same settings, models loaded once before timing.
    stages = LocalStages(settings)
    store = CallStore.from_url(f"sqlite:///{work / 'baseline.db'}")
    analyze_file(paths[0], settings, stages=stages, store=store)  # warm-up, untimed
    phases = [run_baseline("baseline (1st)", paths, settings, stages, store)]
    print(f"baseline: {phases[0].throughput:.2f} audio s per s, busy {phases[0].usage.cpu_busy:.0%}, "
          f"workload {phases[0].usage.workload_share:.0%}", flush=True)

    with running_app(config, work) as app:
        ready = (app.cluster_start_s, app.deploy_s)
        startup_cpu = cpu_seconds_by_group(session_pids(app.cluster.session_leader), ray_process_group)
        app.submit_all(paths[:1])  # warm-up, untimed
        leader = app.cluster.session_leader
        with ResourceSampler(lambda: session_pids(leader), group=ray_process_group) as sampler:
            results = app.submit_all(paths)
        bad = [(r["status"], r.get("error")) for r in results if r["status"] != "completed"]
        if bad:
            raise SystemExit(f"Serve calls did not complete: {bad}")
        serve_phase = Phase("Serve", sum(r["result"]["audio"]["duration_s"] for r in results), sampler.usage,
                            mean_timings([r["result"] for r in results]))
    phases.append(serve_phase)
    print(f"serve: {serve_phase.throughput:.2f} audio s per s, busy {serve_phase.usage.cpu_busy:.0%}, "
          f"workload {serve_phase.usage.workload_share:.0%}", flush=True)
    phases.append(run_baseline("baseline (2nd)", paths, settings, stages, store))

    baseline_tp = statistics.mean(p.throughput for p in phases if p.name.startswith("baseline"))
    ratio = serve_phase.throughput / baseline_tp
    ready_s = sum(ready)
    goals = {
        f"throughput >= {GOAL_RATIO}x the monolith": ratio >= GOAL_RATIO,
        f"peak memory <= {GOAL_PSS_GB:.0f} GB PSS": serve_phase.usage.peak_pss_gb <= GOAL_PSS_GB,
        f"ready in <= {GOAL_READY_S:.0f} s": ready_s <= GOAL_READY_S,
    }
    load_after = load_average()
    baseline_eff = statistics.mean(p.audio_s / p.usage.workload_cpu_s for p in phases if p.name.startswith("baseline"))
    efficiency = (serve_phase.audio_s / serve_phase.usage.workload_cpu_s) / baseline_eff
    baseline_share = statistics.mean(p.usage.workload_share for p in phases if p.name.startswith("baseline"))
    rows = "\n".join(
        f"| {p.name} | {p.audio_s:.0f} | {p.usage.wall_s:.1f} | {p.throughput:.2f} | {p.usage.cpu_busy:.0%} | "
        f"{p.usage.workload_share:.0%} | {p.audio_s / max(p.usage.workload_cpu_s, 1e-9):.2f} | {p.usage.load_end:.1f} | "
        f"{p.usage.peak_pss_gb:.2f} ({p.usage.peak_rss_gb:.2f}) | {p.usage.processes} | "
        + ", ".join(f"{s} {t:.1f}" for s, t in p.stage_s.items()) + " |"
        for p in phases
    )
    groups = serve_phase.usage.groups
    group_rows = "\n".join(
        f"| {g.name} | {g.processes} | {g.cpu_s:.1f} | {g.cpu_s / max(serve_phase.usage.workload_cpu_s, 1e-9):.0%} | "
        f"{g.pss_at_peak_gb * 1024:.0f} | {g.peak_pss_gb * 1024:.0f} |"
        for g in groups
    )
    serve_dep = deployment_section(config, "speech-recognizer-base")
    body = (
        f"`python bench/throughput.py --calls {args.calls}` ({', '.join(args.files)} in turn; "
        f"model {settings.asr.model} on CPU). Serve: the CPU profile "
        f"(deployments/profiles/cpu.yaml), every call to variant base, speech-recognizer-base "
        f"{serve_dep.get('num_replicas', 1)} replica(s), gateway max_concurrent_calls "
        f"{settings.api.max_concurrent_calls}; all {args.calls} calls submitted at once over HTTP (`wait=true`). "
        f"Baseline: `analyze_file` one file at a time over `LocalStages` in one process.\n\n"
        "| phase | audio s | wall s | audio s per wall s | CPU busy (machine) | CPU used by the workload | audio s per CPU s | "
        "load at end | peak memory GB, PSS (RSS) | processes | mean stage s per call |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
        f"{rows}\n\n"
        f"**Serve / baseline throughput: {ratio:.2f}x** (baseline = mean of its two runs). Work per CPU second, "
        f"Serve / baseline: {efficiency:.2f}x. The wall-clock ratio also reflects how much of the machine each side "
        f"won from other work running at the same time (the baseline's one process got {baseline_share:.0%} of the "
        f"cores, Serve's {serve_phase.usage.processes} processes {serve_phase.usage.workload_share:.0%}); audio s per "
        "CPU s compares what each side does with the CPU it gets. With the same work per CPU second, Serve can beat "
        f"the baseline only by the cores the baseline leaves idle, at most 1 / {baseline_share:.0%} = "
        f"**{1 / baseline_share:.2f}x**.\n\n"
        f"Ready: **{ready_s:.1f} s** from `ray start` to every deployment healthy with its models loaded "
        f"(cluster {ready[0]:.1f} s, then `serve deploy` to healthy {ready[1]:.1f} s); the processes had used "
        f"{sum(startup_cpu.values()):.0f} CPU s by then, on {os.cpu_count()} cores: "
        + ", ".join(f"{name} {cpu:.1f}" for name, cpu in sorted(startup_cpu.items(), key=lambda kv: -kv[1])) + ".\n\n"
        "Goals: " + "; ".join(f"{name}: **{'met' if ok else 'not met'}**" for name, ok in goals.items()) + ".\n\n"
        "Where the Serve phase's CPU and memory went (per deployment's replicas, and Ray's own processes; "
        "PSS in MB at the sample where the total peaked, and each group's own peak):\n\n"
        "| processes of | count | CPU s | share of the workload's CPU | PSS MB at the total's peak | own peak PSS MB |\n"
        "| --- | --- | --- | --- | --- | --- |\n"
        f"{group_rows}\n\n"
        f"Load average (1/5/15 min) before: {load_before}; after: {load_after} (other work on the machine "
        "shows in CPU busy and slows both sides).\n\n"
        "How measured: CPU busy = non-idle share of all cores' jiffies in /proc/stat over the phase "
        "(machine-wide, other people's work included); CPU used by the workload = user + system seconds of "
        "the measured processes / (wall s x cores), and audio s per CPU s is the work done per CPU second "
        "they got, which other load on the machine disturbs much less than wall-clock throughput. Memory: every 0.5 s, the sum of PSS (shared pages split between the processes "
        "mapping them; RSS sum in brackets) over the bench process (baseline) or every process in the "
        "Ray cluster's session (GCS, raylet, dashboard, workers, replicas) for Serve; the peak sample."
    )
    print(f"Serve / baseline: {ratio:.2f}x wall-clock, {efficiency:.2f}x per CPU second; peak PSS "
          f"{serve_phase.usage.peak_pss_gb:.2f} GB; ready in {ready_s:.1f} s; goals: "
          + ", ".join(f"{name} {'met' if ok else 'NOT met'}" for name, ok in goals.items()))
    for g in groups:
        print(f"  {g.name:45s} {g.processes:2d} procs  CPU {g.cpu_s:6.1f} s  PSS {g.pss_at_peak_gb * 1024:6.0f} MB "
              f"(own peak {g.peak_pss_gb * 1024:.0f})")
    print(machine())
    write_section("Throughput: Serve app vs monolith (bench/throughput.py)", body)


if __name__ == "__main__":
    main()
