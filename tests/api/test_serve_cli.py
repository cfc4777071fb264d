"""`callytics serve`: the local gateway with the console, its URL and (on a fresh database) a key."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _serve(db: Path, port: int) -> tuple[subprocess.Popen, list[str]]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "callytics_ray.cli", "--database-url", f"sqlite:///{db}", "serve", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=Path(__file__).parents[2],
    )
    lines = [proc.stdout.readline().strip() for _ in range(2)]
    return proc, lines


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, **kwargs) -> httpx.Response:
    deadline = time.monotonic() + 60
    while True:
        try:
            return httpx.get(url, timeout=5, **kwargs)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_serve_prints_the_console_url_and_a_key_once(tmp_path):
    db = tmp_path / "callytics.db"
    port = _free_port()
    proc, lines = _serve(db, port)
    try:
        assert lines[0].startswith(f"Callytics console: http://127.0.0.1:{port}/console")
        key = re.search(r"(cr_\S+)$", lines[1]).group(1)
        assert _get(f"http://127.0.0.1:{port}/console/calls", follow_redirects=False).status_code == 303
        page = _get(f"http://127.0.0.1:{port}/console/calls", cookies={"callytics_key": key})
        assert page.status_code == 200 and "Sign out" in page.text
        assert _get(f"http://127.0.0.1:{port}/v1/calls", headers={"Authorization": f"Bearer {key}"}).json()["total"] == 0
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    # A second start on the same database does not hand out another key.
    proc, lines = _serve(db, port)
    try:
        assert "cr_" not in lines[1] and "keys create" in lines[1]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
