"""A real webhook receiver on 127.0.0.1 (http.server in a thread) that records every request and
answers with scripted statuses, and the verification a receiver does, taken from the README."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


@dataclass
class Received:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """`statuses` are answered in turn, the last one for ever after."""

    url: str
    statuses: list[int] = field(default_factory=lambda: [200])
    received: list[Received] = field(default_factory=list)

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.received


def _readme_verify() -> Callable[[str, bytes, str], bool]:
    """The receiver check exactly as the README prints it (standard library only, independent of
    the core), so the documented snippet is what the tests verify signatures with."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    [snippet] = [b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "def verify(secret" in b]
    namespace: dict = {}
    exec(snippet, namespace)  # noqa: S102  (our own README)
    return namespace["verify"]


verify_like_the_readme = _readme_verify()


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802  (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receiver.received.append(Received(time.monotonic(), self.path, dict(self.headers.items()), body))
            status = receiver.statuses[min(len(receiver.received), len(receiver.statuses)) - 1]
            reply = b"ok" if status < 400 else b"nope: " + str(status).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args) -> None:  # keep the test output clean
            pass

    return Handler


@pytest.fixture()
def make_receiver() -> Iterator:
    servers: list[ThreadingHTTPServer] = []

    def make(*statuses: int) -> Receiver:
        receiver = Receiver(url="")
        if statuses:
            receiver.statuses = list(statuses)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
        receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/callytics"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return receiver

    yield make
    for server in servers:
        server.shutdown()
        server.server_close()
