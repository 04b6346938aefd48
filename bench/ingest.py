"""Ingest benchmark: webhooks accepted per second and latency for ONE ingest process at fixed concurrency.

wrk (a C load generator) posts distinct `call.ended` webhooks over loopback to a uvicorn ingest process
backed by a private Redis (AOF on); afterwards every accepted webhook must be in the ledger and in the queue
exactly once. Targets (issue 11, 2 cores, load generator included): ≥ 10 times the webhooks/s of the tutorial
receiver (bench/tutorial_receiver.py: FastAPI + `task.delay()`) measured in the same run under the same
wrk settings, p99 ≤ 10 ms, nothing lost or doubled. The ingest runs the Procfile's command line, with
the tenant limits checked on every webhook (raised out of reach: one tenant sends everything).

Then the same with a replica and REDIS_WAIT_REPLICAS=1 (`replica_ack` in the JSON): what acknowledging only
replicated webhooks costs in throughput and p99 (issue 10).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import redis

from config.queues import ALL_QUEUES
from sandbox.fleet import Fleet, fleet, provision_tenant
from sandbox.redis_server import RedisServer
from store import keys

HERE = Path(__file__).resolve().parent
FIXTURE = HERE.parent / "tests" / "fixtures" / "call.ended__inbound_answered.json"
CALL_ID = 918273645546372819  # replaced by the wrk script with a distinct call id per request


def call_ended_body() -> str:
    """A `call.ended` webhook shaped like the ones Aircall really sends (about 2 KB, compact JSON): the
    captured fixture (number, user, teams, participants, links) with an agent's comment and two tags, as a
    call that was worked on carries. `__TOKEN__` and the call id are filled in per request by the wrk script.
    """
    doc = json.loads(FIXTURE.read_text())
    doc["token"] = "__TOKEN__"
    data = doc["data"]
    data["id"] = CALL_ID
    data["comments"] = [
        {
            "id": 20001,
            "content": "Customer asked for a quote on the spring cleanup; call back Tuesday after 2 pm.",
            "posted_at": 1732623090,
            "posted_by": {"id": 456, "name": "Madelaine Dupont", "email": "madelaine@acme.com"},
        }
    ]
    data["tags"] = [
        {"id": 3001, "name": "Quote requested", "color": "#00B388", "tagged_by": {"id": 456}},
        {"id": 3002, "name": "Returning customer", "color": "#1A73E8", "tagged_by": {"id": 456}},
    ]
    return json.dumps(doc, separators=(",", ":")).replace(str(CALL_ID), "__CALL_ID__")


def run_wrk(url: str, token: str, connections: int, duration_s: int, threads: int) -> dict[str, float]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk not found (scripts/bench.sh installs it)")
    out = subprocess.run(
        [
            wrk,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration_s}s",
            "--timeout",
            "5s",
            "-s",
            str(HERE / "wrk_webhooks.lua"),
            f"{url}/webhooks/aircall",
        ],
        env=os.environ | {"AJ_BENCH_TOKEN": token, "AJ_BENCH_BODY": call_ended_body()},
        capture_output=True,
        text=True,
        check=True,
        timeout=duration_s + 60,
    ).stdout
    match = re.search(r"WRK_JSON (\{.*\})", out)
    if not match:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    result: dict[str, float] = json.loads(match.group(1))
    return result


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--no-servers",
        dest="servers",
        action="store_false",
        help="skip the comparison with Granian's ASGI mode",
    )
    ap.add_argument(
        "--no-replica-ack",
        dest="replica_ack",
        action="store_false",
        help="skip the second run with a replica and REDIS_WAIT_REPLICAS=1",
    )
    return ap


def queued_messages(r: redis.Redis) -> list[str]:
    """Every waiting task message: Celery's queue lists and the tenant lanes in front of them
    (store/queues.py)."""
    names = [*ALL_QUEUES, *r.scan_iter(f"{keys.LANE_PREFIX}*")]
    return [m for name in names for m in r.lrange(name, 0, -1)]


def count_events(r: redis.Redis) -> int:
    return sum(1 for k in r.scan_iter(keys.event("ev_*"), count=10000) if not k.endswith(":log"))


# The candidate server (issue 19), run as the Procfile's line would run it: one process, uvloop, HTTP/1 only,
# the same bound on connections served at once.
GRANIAN = [
    "granian",
    "--interface",
    "asgi",
    "--host",
    "127.0.0.1",
    "--loop",
    "uvloop",
    "--http",
    "1",
    "--no-ws",
    "--workers",
    "1",
    "--backpressure",
    "512",
    "--log-level",
    "warning",
    "ingest.app:app",
]


def measure(args: argparse.Namespace, replica_ack: bool, server: str = "uvicorn") -> dict[str, Any]:
    """One wrk run against one ingest; with `replica_ack`, Redis has a replica and the ingest WAITs for it;
    `server`: uvicorn as the Procfile runs it, or granian (GRANIAN) for the comparison."""
    with fleet() as f:
        replica = RedisServer(appendonly=True, replica_of=f.redis) if replica_ack else None
        try:
            if replica is not None:
                f.env |= {"REDIS_WAIT_REPLICAS": "1"}
            # One tenant sends everything here: its limits are raised out of reach, so every webhook still
            # goes through the limit checks of the claim script (the cost measured) and none is refused.
            f.env |= BENCH_LIMITS
            f.point_at()
            token = provision_tenant()
            url = f.ingest() if server == "uvicorn" else f._serve("/readyz", *GRANIAN)
            ingest = f.procs[-1]
            wrk = run_wrk(url, token, args.connections, args.duration, args.threads)
            # Counted once the ingest has stopped (it finishes the requests in flight first): counting while
            # the last writes land could compare a queue and a ledger read at different moments.
            ingest.terminate()
            ingest.wait(timeout=30)

            r = redis.Redis.from_url(f.redis.url, decode_responses=True)
            accepted = int(wrk["requests"] - wrk["errors_status"])
            messages = queued_messages(r)
            queued = len(messages)
            ledger = count_events(r)
            event_ids = [json.loads(m)["headers"]["argsrepr"] for m in messages]
            # wrk does not count responses still in flight at its deadline, so the server may have accepted
            # a few more than wrk reports; it can never have enqueued fewer.
            exact = queued == ledger == len(set(event_ids)) and queued >= accepted
            seconds = wrk["duration_us"] / 1e6
            result: dict[str, Any] = {
                "server": server,
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
            }
            if replica is not None:
                # Every acknowledged webhook was confirmed by the replica before its 200.
                result["replica_ledger_entries"] = count_events(replica.client())
                result["on_replica"] = result["replica_ledger_entries"] >= accepted
            return result
        finally:
            if replica is not None:
                replica.stop()


def measure_tutorial(args: argparse.Namespace) -> dict[str, Any]:
    """The tutorial receiver under the same wrk run: one uvicorn process, the same Redis setup."""
    with fleet() as f:
        url = f.tutorial_receiver()
        wrk = run_wrk(url, "tutorial", args.connections, args.duration, args.threads)
        seconds = wrk["duration_us"] / 1e6
        accepted = int(wrk["requests"] - wrk["errors_status"])
        return {
            "receiver": "bench/tutorial_receiver.py (FastAPI + task.delay())",
            "webhooks_per_s": round(accepted / seconds, 1),
            "latency_ms": {k: round(wrk[f"{k}_us"] / 1000, 2) for k in ("p50", "p90", "p99", "max")},
            "non_2xx": int(wrk["errors_status"]),
            "published": redis.Redis.from_url(f.redis.url).llen("celery"),
        }


TARGET = {"times_tutorial": 10, "p99_ms": 10}
BENCH_LIMITS = {"WEBHOOK_RATE_LIMIT": str(10**9), "TENANT_PENDING_MAX_BYTES": str(1 << 40)}


def compare_servers(args: argparse.Namespace, uvicorn: dict[str, Any]) -> dict[str, Any]:
    """Granian's ASGI mode against the Procfile's uvicorn, same wrk run (issue 19: one server is kept,
    chosen on these numbers). Granian is a development dependency only: nothing in the product imports it."""
    if importlib.util.find_spec("granian") is None:
        return {"granian": "not installed (pip install -e '.[dev]' -c constraints.txt)"}
    granian = measure(args, replica_ack=False, server="granian")
    return {
        "uvicorn": {k: uvicorn[k] for k in ("webhooks_per_s", "latency_ms")},
        "granian": {k: granian[k] for k in ("webhooks_per_s", "latency_ms", "enqueued_exactly_once")},
        "faster": "uvicorn" if uvicorn["webhooks_per_s"] >= granian["webhooks_per_s"] else "granian",
        "procfile": Fleet.procfile_command("ingest", {})[0],
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    plain = measure(args, replica_ack=False)
    tutorial = measure_tutorial(args)
    servers = compare_servers(args, plain) if args.servers else {}
    times = round(plain["webhooks_per_s"] / max(1.0, tutorial["webhooks_per_s"]), 2)
    result: dict[str, Any] = {
        "benchmark": "ingest",
        "processes": 1,
        "wrk": {"connections": args.connections, "threads": args.threads, "duration_s": args.duration},
        "body_bytes": len(call_ended_body().encode()),
        "tenant_limits": BENCH_LIMITS,
        **plain,
        "tutorial": tutorial,
        "times_tutorial": times,
        **({"servers": servers} if servers else {}),
        "target": TARGET,
    }
    result["meets_target"] = bool(
        plain["enqueued_exactly_once"]
        and times >= TARGET["times_tutorial"]
        and plain["latency_ms"]["p99"] <= TARGET["p99_ms"]
        and not plain["non_2xx"]
    )
    if args.replica_ack:
        # The price of "a 200 is never lost" (README "High availability"): the same load, the ingest
        # acknowledging only once a replica holds the event (REDIS_WAIT_REPLICAS=1).
        acked = measure(args, replica_ack=True)
        acked["throughput_cost_pct"] = round(100 * (1 - acked["webhooks_per_s"] / plain["webhooks_per_s"]), 1)
        acked["p99_added_ms"] = round(acked["latency_ms"]["p99"] - plain["latency_ms"]["p99"], 2)
        result["replica_ack"] = acked
    return result


if __name__ == "__main__":
    print(json.dumps(run(parser().parse_args()), indent=2))
