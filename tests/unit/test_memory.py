"""Freed heap goes back to the OS after a stage's work (callytics_ray/memory.py)."""

from __future__ import annotations

import psutil
import pytest

from callytics_ray.memory import HeapReleaser


def _private_mb() -> float:
    return psutil.Process().memory_full_info().uss / 2**20


@pytest.mark.skipif(not HeapReleaser().available, reason="needs glibc's malloc_trim")
def test_freed_heap_is_returned_after_work():
    releaser = HeapReleaser(min_interval_s=0.0)
    releaser.after_work()
    before = _private_mb()
    # Many small blocks with a survivor at the end of the heap: glibc cannot shrink the heap top
    # by itself, so the freed pages stay resident until they are trimmed.
    blocks = [bytearray(4000) for _ in range(50_000)]  # ~200 MB below the mmap threshold
    keep = bytearray(4000)
    del blocks
    held = _private_mb()
    assert held - before > 100, "the freed blocks should still be resident before the trim"
    assert releaser.after_work() is True
    assert _private_mb() < held - 100
    del keep


def test_release_is_rate_limited():
    releaser = HeapReleaser(min_interval_s=60.0)
    first = releaser.after_work()
    assert first is releaser.available
    assert releaser.after_work() is False
