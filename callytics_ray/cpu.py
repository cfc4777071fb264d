"""How many CPU threads a model stage uses.

On a CPU the pipeline runs recognition and diarization side by side. Left to their libraries'
defaults, CTranslate2 (4 threads) and torch (one per core) oversubscribe the cores and slow each
other down. By default each stage gets half the cores this process may run on instead, or, in a
Ray replica, the CPUs Ray gave it; `bench/stages.py` measures the difference.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def stage_threads(configured: int) -> int:
    """`configured` when set (> 0); else $OMP_NUM_THREADS when set (Ray sets it in every replica to
    the replica's whole CPUs, at least 1); else half the available cores, at least one."""
    if configured > 0:
        return configured
    budget = os.environ.get("OMP_NUM_THREADS", "")
    if budget.isdigit() and int(budget) > 0:
        return int(budget)
    return max(1, available_cores() // 2)


@contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Run torch's intra-op work on `count` threads inside the block, then restore the setting
    (None leaves it alone)."""
    if count is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    if count == before:
        yield
        return
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)
