"""Insight-card benchmark (issue 5): `call.created` received → card posted to Aircall, for a burst of 50
concurrent ringing calls, with a cold phone cache (matching searches Jobber) and a warm one.

Processes as in production, each its own: ingest, a worker, the dedicated cards worker, the sandbox Jobber
and Aircall (zero added latency), a private Redis (AOF on). Latency per call is the ledger's settled_at -
received_at of its `call.created`. Targets (issue 19): p95 ≤ 100 ms warm, ≤ 250 ms cold, exactly one card
per call and one Aircall request per card. Both Celery roles run as the Procfile starts them: the `worker`
(which also consumes `cards`) and the dedicated `cards` worker.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import requests

from sandbox.fleet import Fleet, fleet, latency_ms, post_all, provision_tenant, settle
from sandbox.scenarios import payloads as p

LINE = p.number_object(789, e164="+14155550199", name="Support line")
AGENT = p.user_object(456, name="Madelaine Dupont", email="madelaine@acme.com")
TARGET_P95_MS = {"warm": 100, "cold": 250}  # issue 19


def burst(
    ingest_url: str, aircall_url: str, company_id: int, token: str, numbers: list[str], first_id: int
) -> dict[str, Any]:

    events = []
    for i, number in enumerate(numbers):
        created = p.inbound_answered_call(
            first_id + i, token=token, number=LINE, external=number, agent=AGENT, started_at=int(time.time())
        )[0]
        requests.post(
            f"{aircall_url}/_sandbox/calls",
            json={"call": created["data"], "company_id": company_id},
            timeout=10,
        )
        events.append(created)
    before = _company(aircall_url, company_id)
    ids = post_all(ingest_url, events, len(events))  # all ringing at once
    entries = settle(ids, 60)
    posted = [e for e in entries if e.get("outcome") == "done"]
    company = _company(aircall_url, company_id)
    cards = company["insight_cards"]
    return {
        "ringing_calls": len(ids),
        "cards_posted": sum(len(v) for v in cards.values()),
        "calls_with_one_card": sum(1 for v in cards.values() if len(v) == 1),
        "not_posted": len(ids) - len(posted),
        "aircall_requests_per_card": round(
            (_request_count(company) - _request_count(before)) / max(1, len(posted)), 2
        ),
        "latency_ms": latency_ms(entries),
    }


def _company(aircall_url: str, company_id: int) -> dict[str, Any]:
    state = requests.get(f"{aircall_url}/_sandbox/state", timeout=10).json()
    return next(c for c in state["companies"] if c["id"] == company_id)


def _request_count(company: dict[str, Any]) -> int:
    """Requests this company's credentials made to the sandbox Aircall (every route)."""
    return int(company["requests"]["total"])


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--calls", type=int, default=50)
    return ap


def run(args: argparse.Namespace) -> dict[str, Any]:
    with fleet() as f:
        jobber_url, aircall_url = f.jobber(), f.aircall()
        f.point_at(jobber_url=jobber_url, aircall_url=aircall_url)
        ingest_url = f.ingest()
        f.celery_as_procfile("worker")
        f.celery_as_procfile("cards")
        account = requests.post(f"{jobber_url}/_sandbox/accounts", json={"name": "Bench"}, timeout=10).json()
        numbers = [f"+1415555{i:04d}" for i in range(args.calls)]
        session = requests.Session()
        for i, number in enumerate(numbers):
            body = {
                "firstName": f"Client{i}",
                "lastName": "Bench",
                "companyName": "Bench Co",
                "phones": [{"number": number}],
                "emails": [{"address": f"c{i}@bench.test"}],
            }
            session.post(
                f"{jobber_url}/_sandbox/accounts/{account['account']['id']}/clients", json=body, timeout=10
            ).raise_for_status()
        time.sleep(2)  # workers connect to the broker
        results = {}
        for phase, first_id in (("cold", 9_000_000_000), ("warm", 9_100_000_000)):
            # One Aircall company per phase, so the second burst does not wait on the first one's budget.
            company = requests.post(
                f"{aircall_url}/_sandbox/companies", json={"name": phase}, timeout=10
            ).json()
            token = provision_tenant(account, aircall_company=company)
            results[phase] = burst(ingest_url, aircall_url, company["id"], token, numbers, first_id)
        cold, warm = results["cold"]["latency_ms"]["p95"], results["warm"]["latency_ms"]["p95"]
        return {
            "benchmark": "insight_card",
            "processes": {
                "ingest": 1,
                "worker": Fleet.procfile_command("worker"),
                "cards": Fleet.procfile_command("cards"),
            },
            "sandbox_latency_ms": 0,
            **results,
            "targets": {"p95_ms": TARGET_P95_MS, "cards_per_call": 1, "aircall_requests_per_card": 1},
            "meets_target": warm <= TARGET_P95_MS["warm"]
            and cold <= TARGET_P95_MS["cold"]
            and all(
                r["calls_with_one_card"] == r["ringing_calls"] == r["cards_posted"]
                and r["aircall_requests_per_card"] <= 1
                for r in results.values()
            ),
        }


if __name__ == "__main__":
    print(json.dumps(run(parser().parse_args()), indent=2))
