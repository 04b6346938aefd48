"""Processes a benchmark runs, as production runs them: uvicorn ingest, a Celery worker, sandbox vendors."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import requests

from sandbox.redis_server import RedisServer, SentinelGroup, free_port, terminate_all

SECRET = "bench-secret"
ROOT = Path(__file__).resolve().parents[1]


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


class Fleet:
    """Starts what a benchmark needs and stops all of it, whatever happens."""

    def __init__(self, redis: RedisServer | SentinelGroup | None = None) -> None:
        """`redis`: where the service keeps its state (stopped with the fleet); a private AOF server unless
        given, or a SentinelGroup, which the processes then reach through its sentinels."""
        self.redis = redis or RedisServer(appendonly=True)  # the production setting: AOF on
        self.procs: list[subprocess.Popen[bytes]] = []
        self._environ_before = dict(os.environ)  # point_at exports settings to this process; stop undoes it
        # Sandbox mode: the processes talk to the sandbox vendors, on loopback over plain http.
        self.env = os.environ | {"REDIS_URL": self.redis.url, "SECRET_KEY": SECRET, "SANDBOX_MODE": "true"}
        if isinstance(self.redis, SentinelGroup):
            self.env["REDIS_SENTINEL_MASTER"] = self.redis.master_name

    def spawn(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        # AJ_FLEET_LOG_DIR=dir keeps each process's output (dir/<n>-<module>.log) to debug a failing run.
        log_dir = os.environ.get("AJ_FLEET_LOG_DIR")
        log: Any = nullcontext(subprocess.DEVNULL)
        if log_dir:
            log = open(f"{log_dir}/{len(self.procs)}-{args[0]}.log", "wb")  # noqa: SIM115 (closed just below)
        with log as out:  # the child keeps its own copy of the file
            proc = subprocess.Popen(
                [sys.executable, "-m", *args], env=env or self.env, stdout=out, stderr=out
            )
        self.procs.append(proc)
        return proc

    def _serve(self, probe: str, *module_args: str) -> str:
        """Start a server module on a free port; return its base URL once `probe` answers."""
        port = free_port()
        self.spawn(*module_args, "--port", str(port))
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}{probe}")
        return url

    def ingest(self) -> str:
        """The ingest started as the Procfile starts it (its --limit-concurrency included), on loopback."""
        port = free_port()
        command = self.procfile_command("ingest", self.env | {"INGEST_HOST": "127.0.0.1", "PORT": str(port)})
        assert command[0] == "uvicorn", command
        self.spawn(*command, "--log-level", "warning")
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/readyz")
        return url

    def tutorial_receiver(self) -> str:
        """bench/tutorial_receiver.py under the ingest's uvicorn settings: the baseline of `bench ingest`."""
        return self._serve(
            "/health",
            "uvicorn",
            "bench.tutorial_receiver:app",
            "--host",
            "127.0.0.1",
            "--no-access-log",
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--limit-concurrency",
            "512",
            "--log-level",
            "warning",
        )

    def jobber(self) -> str:
        return self._serve("/_sandbox/accounts", "sandbox.jobber")

    def aircall(self) -> str:
        return self._serve("/_sandbox/state", "sandbox.aircall")

    def worker(
        self, concurrency: int = 16, queues: str = "cards,default,jobber,aircall,sync"
    ) -> subprocess.Popen[bytes]:
        return self.spawn(
            "celery",
            "-A",
            "worker.app",
            "worker",
            "--queues",
            queues,
            "--pool",
            "threads",
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "INFO" if os.environ.get("AJ_FLEET_LOG_DIR") else "WARNING",
            "--without-mingle",
            "--without-gossip",
        )

    @staticmethod
    def procfile_command(role: str, env: dict[str, str] | None = None) -> list[str]:
        """The Procfile's line for `role`, with its ${VAR:-default} expanded:
        benchmarks run what production runs."""
        line = next(x for x in (ROOT / "Procfile").read_text().splitlines() if x.startswith(f"{role}:"))
        values = env if env is not None else dict(os.environ)
        expanded = re.sub(
            r"\$\{(\w+):-([^}]*)\}", lambda m: values.get(m.group(1)) or m.group(2), line.split(":", 1)[1]
        )
        return shlex.split(expanded)

    @classmethod
    def procfile_worker_command(cls, env: dict[str, str] | None = None) -> list[str]:
        return cls.procfile_command("worker", env)

    def celery_as_procfile(self, role: str, instance: int = 1) -> subprocess.Popen[bytes]:
        """A Celery role (`worker`, `cards`) started exactly as the Procfile starts it; `instance` > 1: one
        more process of the role, under a node name of its own (as a second machine would have)."""
        command = self.procfile_command(role, self.env)
        assert command[0] == "celery", command
        own_name = ["--hostname", f"{role}{instance}.%h"] if instance > 1 else []
        return self.spawn(*command, *own_name, "--without-mingle", "--without-gossip")

    def worker_as_procfile(self, instance: int = 1) -> subprocess.Popen[bytes]:
        return self.celery_as_procfile("worker", instance)

    def point_at(self, jobber_url: str | None = None, aircall_url: str | None = None) -> None:
        if jobber_url:
            self.env |= {
                "JOBBER_API_URL": f"{jobber_url}/api/graphql",
                "JOBBER_OAUTH_URL": f"{jobber_url}/api/oauth",
                "JOBBER_CLIENT_ID": "sandbox-client-id",
                "JOBBER_CLIENT_SECRET": "sandbox-client-secret",
            }
        if aircall_url:
            self.env |= {"AIRCALL_API_URL": aircall_url}
        os.environ.update(self.env)  # this process's store/ledger clients read the same settings
        from config.settings import get_settings
        from store.redis import sync_client

        get_settings.cache_clear()  # a previous benchmark in this process had its own Redis and vendors
        sync_client.cache_clear()

    def stop(self) -> None:
        terminate_all(self.procs, timeout_s=15)
        self.redis.stop()
        # The next fleet in this process (make bench runs several) must not inherit this one's settings,
        # e.g. the ingest benchmark's REDIS_WAIT_REPLICAS.
        os.environ.clear()
        os.environ.update(self._environ_before)
        from config.settings import get_settings

        get_settings.cache_clear()


@contextmanager
def fleet() -> Iterator[Fleet]:
    f = Fleet()
    try:
        yield f
    finally:
        f.stop()


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[k]


def provision_tenant(
    jobber_account: dict[str, Any] | None = None,
    numbers: list[int] | None = None,
    aircall_company: dict[str, Any] | None = None,
    **settings: Any,
) -> str:
    """An active integration straight in the store (REDIS_URL/SECRET_KEY from the fleet env); returns its
    Aircall webhook token. `jobber_account`: a sandbox account from `POST /_sandbox/accounts`."""
    import secrets as _secrets

    from config.integration import IntegrationSettings
    from config.settings import get_settings
    from store.integrations import IntegrationStore, JobberAccount
    from store.redis import sync_client

    get_settings.cache_clear()
    store = IntegrationStore(sync_client(os.environ["REDIS_URL"]), get_settings().secret_key())
    company = aircall_company or {"api_id": "bench", "api_token": "bench-token", "id": 1}
    integration = store.create(
        aircall_api_id=company["api_id"],
        aircall_token=company["api_token"],
        aircall_auth="basic",
        aircall_company_id=str(company["id"]),
        settings=IntegrationSettings.parse({"numbers": numbers or [789], **settings}),
    )
    token = "bench-" + _secrets.token_hex(8)
    store.bind_webhook(integration.id, "bench-webhook", token)
    account = jobber_account or {
        "access_token": "a",
        "refresh_token": "r",
        "account": {"id": "bench-acct", "name": "Bench"},
    }
    store.set_jobber_tokens(integration.id, account["access_token"], account["refresh_token"])
    store.connect_jobber_account(
        integration.id, JobberAccount(id=account["account"]["id"], name=account["account"]["name"])
    )
    return token


SENDER_RETRIES: Counter[str] = Counter()  # 503s answered to post_all, each retried as Aircall would


def post_all(ingest_url: str, events: list[dict[str, Any]], concurrency: int) -> list[str]:
    """POST webhooks `concurrency` at a time on keep-alive connections; return their event ids. A 503 (the
    ingest could not reach Redis in time) is retried after a moment, as Aircall retries, and counted in
    SENDER_RETRIES so a benchmark reports it."""
    from concurrent.futures import ThreadPoolExecutor

    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=concurrency))

    def post(event: dict[str, Any]) -> str:
        for attempt in range(5):
            response = session.post(f"{ingest_url}/webhooks/aircall", json=event, timeout=10)
            if response.status_code != 503 or attempt == 4:
                break
            SENDER_RETRIES["503"] += 1
            time.sleep(0.2 * (attempt + 1))
        response.raise_for_status()
        return str(response.json()["id"])

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(post, events))


def settle(ids: list[str], timeout_s: float, poll_s: float = 0.05) -> list[dict[str, str]]:
    """The ledger entries of `ids` once none is pending (or at the timeout). Polls their outcomes in one
    round trip (the watcher must not load the Redis it measures), then reads the entries once."""
    from store import keys
    from store.redis import sync_client

    r = sync_client()
    deadline = time.monotonic() + timeout_s
    while True:
        pipe = r.pipeline(transaction=False)
        for event_id in ids:
            pipe.hget(keys.event(event_id), "outcome")
        if all(o not in (None, "pending") for o in pipe.execute()) or time.monotonic() > deadline:
            break
        time.sleep(poll_s)
    pipe = r.pipeline(transaction=False)
    for event_id in ids:
        pipe.hgetall(keys.event(event_id))
    return [dict(entry or {}) for entry in pipe.execute()]


def latency_ms(entries: list[dict[str, str]]) -> dict[str, float | None]:
    """received → settled per event that ended `done`: p50, p95, max."""
    from datetime import datetime

    values = [
        (datetime.fromisoformat(e["settled_at"]) - datetime.fromisoformat(e["received_at"])).total_seconds()
        * 1000
        for e in entries
        if e.get("outcome") == "done" and e.get("settled_at")
    ]
    return {
        "p50": round(percentile(values, 50), 1),
        "p95": round(percentile(values, 95), 1),
        "max": round(max(values), 1) if values else None,
    }


def seed_clients(jobber_url: str, account_id: str, numbers: list[str]) -> None:
    """One sandbox Jobber client per number (phone described as MAIN)."""
    session = requests.Session()
    for i, number in enumerate(numbers):
        body = {
            "firstName": f"Client{i}",
            "lastName": "Bench",
            "phones": [{"number": number, "description": "MAIN"}],
        }
        session.post(
            f"{jobber_url}/_sandbox/accounts/{account_id}/clients", json=body, timeout=10
        ).raise_for_status()
