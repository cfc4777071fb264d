"""What a benchmark phase cost the machine: CPU busy share from /proc/stat and peak memory of a
set of processes, sampled in a background thread."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import psutil


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot (first line of /proc/stat)."""
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal (guest is inside user)
    return total - idle, total


@dataclass(frozen=True, slots=True)
class GroupUsage:
    """One group of processes (a deployment's replicas, Ray's own processes) over a phase.

    Attributes:
        cpu_s: CPU seconds (user + system) its processes used during the phase.
        pss_at_peak_gb: its share of the phase's peak total PSS (the sample where the sum peaked).
        peak_pss_gb: its own highest PSS sum in any sample.
        processes: most of its processes seen in one sample.
    """

    name: str
    cpu_s: float
    pss_at_peak_gb: float
    peak_pss_gb: float
    processes: int


@dataclass(frozen=True, slots=True)
class Usage:
    """Attributes:
    wall_s: the phase's wall time.
    cpu_busy: share of all cores' time that was not idle during the phase (every process on the
        machine counts: other load shows up here too).
    workload_cpu_s: CPU seconds (user + system) the sampled processes used during the phase.
    peak_pss_gb / peak_rss_gb: the highest sum over the sampled processes. PSS splits shared
        pages (libraries, the object store) between the processes that map them, so its sum is
        the real footprint; the RSS sum counts shared pages once per process.
    processes: most processes seen in one sample.
    load_end: the 1-minute load average when the phase ended.
    """

    wall_s: float
    cpu_busy: float
    workload_cpu_s: float
    peak_pss_gb: float
    peak_rss_gb: float
    processes: int
    load_end: float
    groups: tuple[GroupUsage, ...] = ()

    @property
    def workload_share(self) -> float:
        """Share of all cores' time the sampled processes used (the rest was idle or other work)."""
        return self.workload_cpu_s / (self.wall_s * (os.cpu_count() or 1))


class ResourceSampler:
    """Context manager: samples memory of `pids()` every `interval_s`, CPU busy over the whole span.

    Example:
        >>> with ResourceSampler(lambda: [os.getpid()]) as sampler:
        ...     work()
        >>> sampler.usage.cpu_busy
    """

    def __init__(self, pids: Callable[[], Iterable[int]], interval_s: float = 0.5,
                 group: Callable[[psutil.Process], str] | None = None) -> None:
        self._pids = pids
        self._group = group
        self._group_of: dict[int, str] = {}
        self._groups_at_peak: dict[str, int] = {}
        self._group_peak: dict[str, int] = {}
        self._group_n: dict[str, int] = {}
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._peak_pss = self._peak_rss = 0
        self._peak_n = 0
        self._cpu_first: dict[int, float] = {}
        self._cpu_last: dict[int, float] = {}
        self.usage: Usage | None = None

    def __enter__(self) -> ResourceSampler:
        self._sample()  # CPU-time baselines of the processes already running
        self._start_cpu = _cpu_times()
        self._start = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        busy0, total0 = self._start_cpu
        busy1, total1 = _cpu_times()
        self.usage = Usage(
            wall_s=time.perf_counter() - self._start,
            cpu_busy=(busy1 - busy0) / max(total1 - total0, 1),
            workload_cpu_s=sum(self._cpu_last[pid] - self._cpu_first[pid] for pid in self._cpu_last),
            peak_pss_gb=self._peak_pss / 2**30,
            peak_rss_gb=self._peak_rss / 2**30,
            processes=self._peak_n,
            load_end=os.getloadavg()[0],
            groups=self._group_usage(),
        )

    def _group_usage(self) -> tuple[GroupUsage, ...]:
        cpu: dict[str, float] = {}
        for pid, last in self._cpu_last.items():
            name = self._group_of.get(pid)
            if name is not None:
                cpu[name] = cpu.get(name, 0.0) + last - self._cpu_first[pid]
        return tuple(sorted(
            (GroupUsage(name, cpu.get(name, 0.0), self._groups_at_peak.get(name, 0) / 2**30,
                        self._group_peak[name] / 2**30, self._group_n[name]) for name in self._group_peak),
            key=lambda g: -g.pss_at_peak_gb,
        ))

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            self._sample()

    def _sample(self) -> None:
        pss = rss = n = 0
        by_group: dict[str, int] = {}
        count: dict[str, int] = {}
        for pid in self._pids():
            try:
                process = psutil.Process(pid)
                info = process.memory_full_info()
                times = process.cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            cpu_s = times.user + times.system
            self._cpu_first.setdefault(pid, cpu_s)  # a process born mid-phase counts from first sight
            self._cpu_last[pid] = cpu_s
            pss, rss, n = pss + info.pss, rss + info.rss, n + 1
            if self._group is not None:
                if pid not in self._group_of:
                    try:
                        self._group_of[pid] = self._group(process)
                    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                        continue
                name = self._group_of[pid]
                by_group[name] = by_group.get(name, 0) + info.pss
                count[name] = count.get(name, 0) + 1
        for name, value in by_group.items():
            self._group_peak[name] = max(self._group_peak.get(name, 0), value)
            self._group_n[name] = max(self._group_n.get(name, 0), count[name])
        if pss > self._peak_pss:
            self._groups_at_peak = by_group
        self._peak_pss, self._peak_rss = max(self._peak_pss, pss), max(self._peak_rss, rss)
        self._peak_n = max(self._peak_n, n)


def ray_process_group(process: psutil.Process) -> str:
    """What a process of a local Ray cluster is: a Serve deployment's replica (by deployment
    name), Serve's controller or proxy, or one of Ray's own node processes."""
    title = " ".join(process.cmdline()) or process.name()
    if "ServeReplica:" in title:  # ...ServeReplica:<app>:<deployment>[.<method>]
        return title.split("ServeReplica:", 1)[1].split(":")[1].split(".")[0].split()[0]
    for needle, name in (("ray start", "Ray: `ray start --block`"), ("ServeController", "Ray: Serve controller"),
                         ("ProxyActor", "Ray: Serve proxy"), ("gcs_server", "Ray: GCS"), ("raylet", "Ray: raylet"),
                         ("dashboard", "Ray: dashboard"), ("DashboardAgent", "Ray: dashboard")):
        if needle in title:
            return name
    return "Ray: other (agents, monitors, idle workers)"


def cpu_seconds_by_group(pids: Iterable[int], group: Callable[[psutil.Process], str]) -> dict[str, float]:
    """CPU seconds (user + system) each group of `pids` has used since its processes started."""
    used: dict[str, float] = {}
    for pid in pids:
        try:
            process = psutil.Process(pid)
            times = process.cpu_times()
            name = group(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        used[name] = used.get(name, 0.0) + times.user + times.system
    return used


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"
