"""How many threads a CPU model stage takes."""

from __future__ import annotations

import pytest

from callytics_ray.cpu import available_cores, stage_threads, torch_threads


def test_a_configured_count_wins(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert stage_threads(5) == 5


def test_a_ray_replica_uses_the_cpus_ray_gave_it(monkeypatch):
    # Ray sets OMP_NUM_THREADS to a replica's whole CPUs (1 for num_cpus below 1).
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    assert stage_threads(0) == 4


@pytest.mark.parametrize("unset", [None, "", "auto"])
def test_otherwise_half_the_cores_this_process_may_use(monkeypatch, unset):
    if unset is None:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", unset)
    assert stage_threads(0) == max(1, available_cores() // 2)


def test_torch_threads_are_restored_after_the_block():
    import torch

    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
