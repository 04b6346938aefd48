"""End-to-end benchmark (issue 4): `call.ended` received → Jobber note written, against the sandbox.

One ingest process, one worker process (threads) and the sandbox Jobber, each its own process on this
machine, with a private Redis (AOF on). Phase "cold": N calls from N different known clients (matching
searches Jobber). Phase "warm": the same callers call again (the phone cache answers). Latency is the
ledger's settled_at - received_at of each `call.ended`; throughput is calls / (last settled - first
received). Jobber requests per logged call come from the sandbox's per-account request counter.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime

import requests

from bench.procs import fleet, latency_ms, post_all, provision_tenant, settle
from sandbox.scenarios import payloads as p

LINE = p.number_object(789, e164="+14155550199", name="Support line")
AGENT = p.user_object(456, name="Madelaine Dupont", email="madelaine@acme.com")


def seed_clients(jobber_url: str, account_id: str, numbers: list[str]) -> None:
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


def graphql_requests(jobber_url: str, account_id: str) -> int:
    accounts = requests.get(f"{jobber_url}/_sandbox/accounts", timeout=10).json()
    return int(next(a for a in accounts if a["id"] == account_id)["graphql_requests"])


def ended_event(token: str, call_id: int, external: str) -> dict:
    events = p.inbound_answered_call(call_id, token=token, number=LINE, external=external, agent=AGENT,
                                     started_at=int(time.time()) - 300, comments=(), tags=())  # fmt: skip
    return next(e for e in events if e["event"] == "call.ended")


def run_phase(
    ingest_url: str, token: str, numbers: list[str], first_id: int, concurrency: int, timeout_s: float
) -> dict:

    events = [ended_event(token, first_id + i, n) for i, n in enumerate(numbers)]
    ids = post_all(ingest_url, events, concurrency)
    entries = settle(ids, timeout_s, poll_s=0.2)
    received = [datetime.fromisoformat(e["received_at"]).timestamp() for e in entries]
    settled = [datetime.fromisoformat(e["settled_at"]).timestamp() for e in entries if e.get("settled_at")]
    done = sum(1 for e in entries if e.get("outcome") == "done")
    span = (max(settled) - min(received)) if settled else float("nan")
    return {
        "calls": len(ids),
        "logged": done,
        "not_logged": len(ids) - done,
        "calls_per_s": round(len(settled) / span, 1) if settled else 0,
        "latency_ms": latency_ms(entries),
    }


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--worker-concurrency", type=int, default=16)
    return ap


def run(args: argparse.Namespace) -> dict:

    with fleet() as f:
        jobber_url = f.jobber()
        f.point_at(jobber_url=jobber_url)
        ingest_url = f.ingest()
        f.worker(concurrency=args.worker_concurrency)
        account = requests.post(f"{jobber_url}/_sandbox/accounts", json={"name": "Bench"}, timeout=10).json()
        account_id = account["account"]["id"]
        numbers = [f"+1415555{i:04d}" for i in range(args.calls)]
        seed_clients(jobber_url, account_id, numbers)

        tenant_token = provision_tenant(account)
        time.sleep(2)  # the worker process connects to the broker
        results = {}
        for phase, first_id in (("cold", 7_000_000_000), ("warm", 8_000_000_000)):
            before = graphql_requests(jobber_url, account_id)
            results[phase] = run_phase(ingest_url, tenant_token, numbers, first_id, args.concurrency, 120)
            used = graphql_requests(jobber_url, account_id) - before
            results[phase]["jobber_requests_per_call"] = round(used / max(1, results[phase]["logged"]), 2)

        return {
            "benchmark": "e2e_call_ended_to_note",
            "processes": {"ingest": 1, "worker": 1, "worker_threads": args.worker_concurrency},
            "sandbox_latency_ms": 0,
            **results,
            "targets": {"jobber_requests_per_call": {"cold": 2, "warm": 1}},
            "meets_target": results["cold"]["jobber_requests_per_call"] <= 2 and results["warm"]["jobber_requests_per_call"] <= 1
            and results["cold"]["not_logged"] == 0 and results["warm"]["not_logged"] == 0,
        }  # fmt: skip


if __name__ == "__main__":
    print(json.dumps(run(parser().parse_args()), indent=2))
