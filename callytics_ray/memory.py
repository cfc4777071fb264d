"""Handing freed heap memory back to the operating system after a model stage's work.

glibc's malloc keeps what a request freed (audio buffers, model activations, feature matrices) in
its arenas for reuse, so a long-running process's resident memory settles at its busiest moment,
not at its working set: a diarizer replica measured 650-700 MB after a few calls against 360 MB
once trimmed, at the same CPU cost per call (environment tuning such as a fixed
MALLOC_MMAP_THRESHOLD_ got the memory too but cost 60% more CPU in page faults). `malloc_trim`
returns the free pages; it takes milliseconds when there is little to give back, so it runs at
most once per `min_interval_s`. On a C library without it (musl, macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
import time

logger = logging.getLogger(__name__)

# The malloc environment of every Serve replica (set when the process starts, so through the
# runtime_env). glibc gives each thread that allocates its own arena, up to 8 per core, and each
# arena keeps its own high-water mark: a replica's work moves between Serve's worker threads and the
# models' own, so its memory wandered with whichever arenas a call happened to touch (a recognizer
# 399-463 MB from call to call, no trend; with two arenas a steady 357 MB over the same calls).
REPLICA_MALLOC_ENV: dict[str, str] = {"MALLOC_ARENA_MAX": "2"}


def _load_malloc_trim():
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


class HeapReleaser:
    """Calls glibc `malloc_trim(0)` after work, rate-limited; one per process user (a replica).

    Example:
        >>> releaser = HeapReleaser()
        >>> releaser.after_work()  # in the worker thread, once a batch is done
    """

    def __init__(self, min_interval_s: float = 1.0) -> None:
        self.min_interval_s = min_interval_s
        self._trim = _load_malloc_trim()
        self._last = 0.0
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        return self._trim is not None

    def after_work(self) -> bool:
        """Release free heap pages unless that was done less than `min_interval_s` ago; whether it ran."""
        if self._trim is None:
            return False
        now = time.monotonic()
        with self._lock:
            if now - self._last < self.min_interval_s:
                return False
            self._last = now
        self._trim(0)
        return True
