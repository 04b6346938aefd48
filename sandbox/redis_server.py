"""Private redis-servers on free loopback ports (never the machine's 6379), for tests and benchmarks: a single
server, a replica of one, and a Sentinel group (a master, its replicas and three sentinels) to fail over."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import redis

START_TIMEOUT_S = 10.0
SENTINELS = 3
QUORUM = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def terminate_all(procs: list[subprocess.Popen[bytes]], timeout_s: float) -> None:
    """SIGTERM every process, then wait for each; SIGKILL what does not exit in time."""
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()


def _binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server not found: run the README's test command (it installs it)")
    return binary


def _wait(probe: Callable[[], bool], what: str, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Poll `probe` until true; bounded, and fails at once if `proc` died."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            if probe():
                return
        except (redis.ConnectionError, redis.exceptions.BusyLoadingError, redis.TimeoutError):
            pass
        if time.monotonic() > deadline or (proc is not None and proc.poll() is not None):
            raise RuntimeError(f"private redis: {what} did not happen")
        time.sleep(0.02)


class RedisServer:
    """One redis-server. `replica_of`: start it as a replica of that server (and wait for the link)."""

    def __init__(self, appendonly: bool = False, replica_of: RedisServer | None = None) -> None:
        self.args = [
            _binary(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes" if appendonly else "no",
            "--maxmemory-policy",
            "noeviction",
        ]
        if appendonly:
            self.args += ["--appendfsync", "everysec"]  # the README's production setting
        # A replica's first sync starts at once (Redis waits 5 s by default for more replicas to share it).
        self.args += ["--repl-diskless-sync-delay", "0"]
        if replica_of is not None:
            self.args += ["--replicaof", "127.0.0.1", str(replica_of.port)]
        self.dir = tempfile.mkdtemp(prefix="aj-test-redis-")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = self._start()
        if replica_of is not None:
            _wait(lambda: self.role_info().get("master_link_status") == "up", "replica link", self.proc)

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, decode_responses=True, socket_timeout=5, socket_connect_timeout=2)

    def role_info(self) -> dict[str, str]:
        with self.client() as c:
            info: dict[str, str] = {k: str(v) for k, v in c.info("replication").items()}
            return info

    def _start(self) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [*self.args, "--port", str(self.port), "--dir", self.dir],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        client = self.client()
        _wait(lambda: bool(client.ping()), "start", proc)
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

    def kill(self) -> None:
        """SIGKILL: the process dies at once, nothing flushed (a crash)."""
        self.proc.send_signal(signal.SIGCONT)  # a frozen process must die too
        self.proc.kill()
        self.proc.wait(timeout=5)

    def freeze(self) -> None:
        """SIGSTOP: the process stops answering but its sockets stay open
        (a host gone without a TCP close)."""
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.proc.send_signal(signal.SIGCONT)

    def start_again(self) -> None:
        """Start a killed server again, same port, same data (the supervisor's restart)."""
        self.proc = self._start()

    def stop(self) -> None:
        self.thaw()
        self._halt()
        shutil.rmtree(self.dir, ignore_errors=True)


class SentinelGroup:
    """A master with AOF, `replicas` replicas and three sentinels (quorum 2), on loopback.

    `url` is REDIS_URL in Celery's Sentinel form; the service finds the master through the sentinels, which
    promote a replica when the master is down for `down_after_ms`. Sentinels are `redis-server --sentinel`:
    Debian's `redis-sentinel` package is only a symlink to that same binary (plus a system service).
    """

    def __init__(self, master_name: str = "aj-master", replicas: int = 1, down_after_ms: int = 1000) -> None:
        self.master_name = master_name
        self.servers = [RedisServer(appendonly=True)]
        self.servers += [RedisServer(appendonly=True, replica_of=self.servers[0]) for _ in range(replicas)]
        self.dir = Path(tempfile.mkdtemp(prefix="aj-test-sentinel-"))
        self.sentinel_ports = [free_port() for _ in range(SENTINELS)]
        self.sentinels = [self._start_sentinel(port, down_after_ms) for port in self.sentinel_ports]
        self.url = ";".join(f"sentinel://127.0.0.1:{port}/0" for port in self.sentinel_ports)
        # Failover needs a quorum that knows the replicas and a majority that knows each other.
        _wait(self._ready, "sentinels discovering the replicas and each other")

    def _start_sentinel(self, port: int, down_after_ms: int) -> subprocess.Popen[bytes]:
        conf = self.dir / f"sentinel-{port}.conf"  # sentinel rewrites its own config: one file each
        conf.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {self.dir}\n"
            f"sentinel monitor {self.master_name} 127.0.0.1 {self.servers[0].port} {QUORUM}\n"
            f"sentinel down-after-milliseconds {self.master_name} {down_after_ms}\n"
            f"sentinel failover-timeout {self.master_name} {max(3 * down_after_ms, 3000)}\n"
            f"sentinel parallel-syncs {self.master_name} 1\n"
        )
        proc = subprocess.Popen(
            [_binary(), str(conf), "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        return proc

    def _sentinel(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, decode_responses=True, socket_timeout=2, socket_connect_timeout=1)

    def _ready(self) -> bool:
        replicas = len(self.servers) - 1
        for port in self.sentinel_ports:
            with self._sentinel(port) as s:
                state = s.sentinel_master(self.master_name)
                if int(state["num-slaves"]) < replicas or int(state["num-other-sentinels"]) < SENTINELS - 1:
                    return False
        return True

    def master_port(self) -> int | None:
        """The master's port as a majority of the sentinels report it, or None without agreement."""
        votes: dict[int, int] = {}
        for port in self.sentinel_ports:
            try:
                with self._sentinel(port) as s:
                    addr = s.sentinel_get_master_addr_by_name(self.master_name)
            except redis.RedisError:
                continue
            if addr:
                votes[int(addr[1])] = votes.get(int(addr[1]), 0) + 1
        agreed = [p for p, n in votes.items() if n > SENTINELS // 2]
        return agreed[0] if agreed else None

    def server(self, port: int) -> RedisServer:
        return next(s for s in self.servers if s.port == port)

    def master(self) -> RedisServer:
        port = self.master_port()
        if port is None:
            raise RuntimeError("the sentinels do not agree on a master")
        return self.server(port)

    def stop(self) -> None:
        terminate_all(self.sentinels, timeout_s=5)
        for server in self.servers:
            server.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
