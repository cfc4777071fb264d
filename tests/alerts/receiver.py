"""A real webhook receiver on 127.0.0.1 (http.server in a thread) that records every request and
answers with scripted statuses, and the verification a receiver does, written from the README."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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


def verify_like_the_readme(secret: str, body: bytes, header: str, tolerance_s: float = 300) -> bool:
    """The README's receiver check, standard library only (kept independent of the core's)."""
    parts = dict(p.split("=", 1) for p in header.split(","))
    timestamp = int(parts["t"])
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - timestamp) <= tolerance_s


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
