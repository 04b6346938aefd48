"""Ingest benchmark: webhooks accepted per second and latency for ONE ingest process at fixed concurrency.

wrk (a C load generator) posts distinct `call.ended` webhooks over loopback to a uvicorn ingest process
backed by a private Redis; afterwards every accepted webhook must be in the ledger and in the queue exactly
once. Prints one JSON object. Target (issue 2, 2 cores, load generator included): ≥ 5,000/s, p99 ≤ 20 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import redis
import requests

from config.celery import QUEUE_DEFAULT
from config.integration import IntegrationSettings
from sandbox.redis_server import RedisServer, free_port
from store import keys
from store.integrations import IntegrationStore, JobberAccount

HERE = Path(__file__).resolve().parent
SECRET = "bench-secret"
WEBHOOK_TOKEN = "bench-webhook-token"


def make_tenant(url: str) -> str:
    store = IntegrationStore(redis.Redis.from_url(url, decode_responses=True), SECRET)
    integration = store.create(
        aircall_api_id="bench", aircall_token="bench-token", aircall_auth="basic", aircall_company_id="1",
        settings=IntegrationSettings(numbers=[789]),
    )  # fmt: skip
    store.bind_webhook(integration.id, "bench-webhook", WEBHOOK_TOKEN)
    store.set_jobber_tokens(integration.id, "a", "r")
    store.connect_jobber_account(integration.id, JobberAccount(id="bench-acct", name="Bench"))
    return integration.id


def start_ingest(redis_url: str, port: int) -> subprocess.Popen[bytes]:
    env = os.environ | {"REDIS_URL": redis_url, "SECRET_KEY": SECRET}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "ingest.app:app", "--host", "127.0.0.1", "--port", str(port),
         "--no-access-log", "--loop", "uvloop", "--http", "httptools", "--log-level", "warning"],
        env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).ok:
                return proc
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("ingest did not become ready")


def run_wrk(url: str, connections: int, duration_s: int, threads: int) -> dict[str, float]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk not found (scripts/bench.sh installs it)")
    out = subprocess.run(
        [wrk, f"-t{threads}", f"-c{connections}", f"-d{duration_s}s", "--timeout", "5s",
         "-s", str(HERE / "wrk_webhooks.lua"), f"{url}/webhooks/aircall"],
        env=os.environ | {"AJ_BENCH_TOKEN": WEBHOOK_TOKEN}, capture_output=True, text=True, check=True, timeout=duration_s + 60,
    ).stdout  # fmt: skip
    match = re.search(r"WRK_JSON (\{.*\})", out)
    if not match:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    result: dict[str, float] = json.loads(match.group(1))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    server = RedisServer(appendonly=True)  # the production setting: AOF on
    port = free_port()
    proc = None
    try:
        make_tenant(server.url)
        proc = start_ingest(server.url, port)
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
        wrk = run_wrk(f"http://127.0.0.1:{port}", args.connections, args.duration, args.threads)

        r = redis.Redis.from_url(server.url, decode_responses=True)
        accepted = int(wrk["requests"] - wrk["errors_status"])
        queued = r.llen(QUEUE_DEFAULT)
        ledger = sum(1 for _ in r.scan_iter(keys.event("ev_*"), count=10000) if not _.endswith(":log"))
        event_ids = [json.loads(m)["headers"]["argsrepr"] for m in r.lrange(QUEUE_DEFAULT, 0, -1)]
        # wrk counts responses still in flight at the deadline as requests it never read, so the server may
        # have accepted a few more than wrk reports; it can never have enqueued fewer.
        exact = queued == ledger == len(set(event_ids)) and queued >= accepted
        seconds = wrk["duration_us"] / 1e6
        result = {
            "benchmark": "ingest",
            "processes": 1,
            "connections": args.connections,
            "duration_s": round(seconds, 2),
            "requests": int(wrk["requests"]),
            "accepted": accepted,
            "non_2xx": int(wrk["errors_status"]),
            "socket_errors": int(
                wrk["errors_connect"] + wrk["errors_read"] + wrk["errors_write"] + wrk["errors_timeout"]
            ),
            "webhooks_per_s": round(accepted / seconds, 1),
            "latency_ms": {k: round(wrk[f"{k}_us"] / 1000, 2) for k in ("p50", "p90", "p99", "max")},
            "enqueued": queued,
            "ledger_entries": ledger,
            "enqueued_exactly_once": exact,
            "target": {"webhooks_per_s": 5000, "p99_ms": 20},
        }
        result["meets_target"] = bool(
            exact
            and result["webhooks_per_s"] >= 5000
            and result["latency_ms"]["p99"] <= 20
            and not result["non_2xx"]
        )
        print(json.dumps(result, indent=2))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
        server.stop()


if __name__ == "__main__":
    main()
