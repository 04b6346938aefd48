"""Contact-sync benchmark (SPEC §6 vendor economy): Aircall requests per synced contact, and sync rate.

N Jobber clients with phones are synced to the sandbox Aircall (budget raised so it does not pace the run):
a full backfill, a second run with nothing changed, and a run after every client's name changed.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import requests

from sandbox.fleet import fleet, provision_tenant


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clients", type=int, default=100)
    return ap


def run(args: argparse.Namespace) -> dict[str, Any]:
    with fleet() as f:
        jobber_url, aircall_url = f.jobber(), f.aircall()
        f.env["AIRCALL_RATE_LIMIT_PER_MIN"] = "100000"
        f.point_at(jobber_url=jobber_url, aircall_url=aircall_url)
        account = requests.post(f"{jobber_url}/_sandbox/accounts", json={"name": "Bench"}, timeout=10).json()
        company = requests.post(
            f"{aircall_url}/_sandbox/companies",
            json={"name": "Bench", "rate_limit_per_min": 100000},
            timeout=10,
        ).json()
        session = requests.Session()
        ids = []
        for i in range(args.clients):
            body = {
                "firstName": f"Client{i}",
                "lastName": "Bench",
                "phones": [{"number": f"+1415555{i:04d}"}],
            }
            ids.append(
                session.post(
                    f"{jobber_url}/_sandbox/accounts/{account['account']['id']}/clients",
                    json=body,
                    timeout=10,
                ).json()["id"]
            )
        provision_tenant(account, aircall_company=company, contact_sync=True)

        from flows.contact_sync import Syncer
        from flows.vendors import store_for

        integration = store_for().all()[0]

        def aircall_requests() -> int:
            state = requests.get(f"{aircall_url}/_sandbox/state", timeout=10).json()
            return int(next(c for c in state["companies"] if c["id"] == company["id"])["requests"]["total"])

        phases: dict[str, Any] = {}
        for phase in ("backfill", "unchanged", "renamed"):
            if phase == "renamed":
                for client_id in ids:
                    session.patch(
                        f"{jobber_url}/_sandbox/clients/{client_id}", json={"lastName": "Renamed"}, timeout=10
                    )
            before, started = aircall_requests(), time.monotonic()
            counts = Syncer(integration, wait_for_budget=True).sweep(full=True)
            seconds = time.monotonic() - started
            used = aircall_requests() - before
            phases[phase] = {
                **counts,
                "aircall_requests": used,
                "aircall_requests_per_client": round(used / args.clients, 2),
                "clients_per_s": round(args.clients / seconds, 1),
            }
        return {
            "benchmark": "contact_sync",
            "clients": args.clients,
            **phases,
            "meets_target": phases["backfill"]["aircall_requests_per_client"] <= 1.0
            and phases["unchanged"]["aircall_requests"] == 0,
        }


if __name__ == "__main__":
    print(json.dumps(run(parser().parse_args()), indent=2))
