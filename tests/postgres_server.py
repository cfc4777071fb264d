"""A PostgreSQL server of a test's (or benchmark's) own, to stop and start at will (the shared test
server must not be restarted under other tests), run by scripts/postgres.sh."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from deployments.local_cluster import free_port

PG = Path(__file__).resolve().parents[1] / "scripts" / "postgres.sh"


class OwnPostgres:
    """A throwaway server in `directory` on a free port.

    Example:
        >>> server = OwnPostgres.in_tmp()
        >>> url = server.start()
        >>> server.stop(); server.start()  # a restart: the data stays
        >>> server.remove()
    """

    def __init__(self, directory: Path) -> None:
        self.directory, self.port = directory, free_port()

    @classmethod
    def in_tmp(cls) -> OwnPostgres:
        # Directly under /tmp: the server runs as the postgres user, who cannot enter pytest's root-only tmp.
        return cls(Path(tempfile.mkdtemp(prefix="callytics-pg-", dir="/tmp")))

    def start(self) -> str:
        """Start (or restart) the server; its URL."""
        return subprocess.run(["bash", str(PG), "start", str(self.directory), str(self.port)], check=True,
                              capture_output=True, text=True).stdout.strip()

    def stop(self) -> None:
        subprocess.run(["bash", str(PG), "stop", str(self.directory)], check=True)
        with socket.socket() as probe:  # the script ignores pg_ctl's answer: check the server is gone
            assert probe.connect_ex(("127.0.0.1", self.port)) != 0, "PostgreSQL is still accepting connections"

    def remove(self) -> None:
        """Stop the server and delete its data."""
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
