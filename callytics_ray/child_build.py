"""Building a derived file of the model cache once, in a child process: the true-casing store, a
sentence encoder's ONNX export. The child carries the heavy imports (NLTK's pickle, torch) so the
process that asks stays small; a file lock makes replicas starting together wait for one build."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[1])


def run_module(module: str, args: Sequence[str], *, timeout_s: float) -> subprocess.CompletedProcess[str]:
    """`python -m module args` in a child with this process's interpreter and import path (a Ray
    worker may have the package from its runtime_env's working_dir rather than from an install).

    Raises:
        subprocess.TimeoutExpired: the child ran past `timeout_s` (it is killed).
    """
    path = [_PACKAGE_ROOT, *(p for p in sys.path if p and p != _PACKAGE_ROOT)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    return subprocess.run([sys.executable, "-m", module, *args], env=env, capture_output=True, text=True,
                          timeout=timeout_s, check=False)


@contextmanager
def exclusive(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive lock on `lock_file` (made if missing) for the block: one builder at a time."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
