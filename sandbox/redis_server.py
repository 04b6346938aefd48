"""A private redis-server on a free loopback port (never the machine's 6379), for tests and benchmarks."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time

import redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    def __init__(self, appendonly: bool = False) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server not found: run the README's test command (it installs it)")
        self.args = [binary, "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes" if appendonly else "no",
                     "--maxmemory-policy", "noeviction"]  # fmt: skip
        self.dir = tempfile.mkdtemp(prefix="aj-test-redis-")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [*self.args, "--port", str(self.port), "--dir", self.dir],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except (redis.ConnectionError, redis.exceptions.BusyLoadingError):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("private redis-server did not start") from None
                time.sleep(0.02)
        client.close()
        return proc

    def _halt(self) -> None:
        self.proc.terminate()  # SIGTERM: Redis flushes its AOF and exits cleanly
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def restart(self) -> None:
        """Stop and start again on the same port and data directory (what an operator's restart does)."""
        self._halt()
        self.proc = self._start()

    def stop(self) -> None:
        self._halt()
        shutil.rmtree(self.dir, ignore_errors=True)
