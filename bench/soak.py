"""Memory soak (issue 10): tens of thousands of webhooks through the real roles, sampling Redis memory.

One ingest process and one worker process (threads), the sandbox Jobber and Aircall, a private Redis (AOF on,
noeviction). The traffic is the scenario library's demo mix (every call shape, messages, AI insights, AI
Voice Agent calls) from a pool of callers, half of them known to Jobber (the rest are created), with one
delivery in ten sent twice. Events are posted in batches; after each batch has settled (no event pending)
`INFO memory` gives `used_memory`: what the batch left behind once its work was done.

Reported: `used_memory` per checkpoint, what each key family holds at the end (MEMORY USAGE by pattern),
and `bytes_per_10k_events`, the slope of retained memory after the first batch (warm-up: Lua scripts,
Celery's bindings, the integration, the phone cache).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import redis
import requests

from bench.procs import Fleet, fleet, provision_tenant
from sandbox.scenarios import ScenarioContext, build
from sandbox.scenarios import payloads as p

LINE = p.number_object(789, e164="+14155550199", name="Support line")
CALLERS = 200
KNOWN_CALLERS = 100
DUPLICATE_EVERY = 10


@dataclass
class Soak:
    """What a soak run measured. `accepted_calls`: call id → the event id of its accepted `call.ended`."""

    events: int = 0
    posted: int = 0
    duplicates: int = 0
    checkpoints: list[dict[str, float]] = field(default_factory=list)
    families: dict[str, dict[str, int]] = field(default_factory=dict)
    accepted_calls: dict[str, str] = field(default_factory=dict)
    statuses: Counter[str] = field(default_factory=Counter)
    unsettled: int = 0

    def bytes_per_10k(self, start: int = 1) -> float:
        """Retained bytes per 10,000 events between checkpoint `start` and the last one."""
        first, last = self.checkpoints[start], self.checkpoints[-1]
        events = last["events"] - first["events"]
        return round((last["used_memory"] - first["used_memory"]) / events * 10_000) if events else 0.0

    def growth_per_1k(self, a: int, b: int) -> float:
        """Bytes of `used_memory` per 1,000 events between checkpoints a and b."""
        first, last = self.checkpoints[a], self.checkpoints[b]
        events = last["events"] - first["events"]
        return (last["used_memory"] - first["used_memory"]) / events * 1000 if events else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "deliveries": self.posted,
            "duplicate_deliveries": self.duplicates,
            "statuses": dict(self.statuses),
            "unsettled": self.unsettled,
            "used_memory_mib": [round(c["used_memory"] / 2**20, 2) for c in self.checkpoints],
            "events_at": [int(c["events"]) for c in self.checkpoints],
            "bytes_per_10k_events": self.bytes_per_10k(),
            "key_families": dict(sorted(self.families.items(), key=lambda kv: -kv[1]["bytes"])[:15]),
        }


def world(jobber_url: str, aircall_url: str) -> tuple[str, list[str]]:
    """A Jobber account with KNOWN_CALLERS clients, an Aircall company, and an active integration on LINE
    that creates missing clients; returns its webhook token and the caller pool."""
    account = requests.post(f"{jobber_url}/_sandbox/accounts", json={"name": "Soak"}, timeout=10).json()
    callers = [f"+1415556{i:04d}" for i in range(CALLERS)]
    session = requests.Session()
    for i, number in enumerate(callers[:KNOWN_CALLERS]):
        body = {"firstName": f"Caller{i}", "lastName": "Soak", "phones": [{"number": number}]}
        session.post(
            f"{jobber_url}/_sandbox/accounts/{account['account']['id']}/clients", json=body, timeout=10
        ).raise_for_status()
    # Aircall's rate budget is not what this run measures: the company allows far more than the traffic needs.
    company = requests.post(
        f"{aircall_url}/_sandbox/companies", json={"name": "Soak", "rate_limit_per_min": 100_000}, timeout=10
    ).json()
    token = provision_tenant(
        account, numbers=[LINE["id"]], aircall_company=company, create_missing_clients=True
    )
    return token, callers


def traffic(token: str, callers: list[str], total: int, seed: int = 7) -> list[dict[str, Any]]:
    """About `total` events of the demo mix, in Aircall's time order."""
    ctx = ScenarioContext(token=token, externals=callers, numbers=[LINE], seed=seed, start=int(time.time()))
    per_demo = len(build("demo", ScenarioContext(seed=seed)))
    return build("demo", ctx, count=max(1, round(total / per_demo)))


def used_memory(r: redis.Redis) -> int:
    return int(r.info("memory")["used_memory"])


def wait_settled(r: redis.Redis, ids: list[str], timeout_s: float) -> int:
    """Wait until none of `ids` is pending in the ledger; returns how many still are at the timeout."""
    deadline = time.monotonic() + timeout_s
    waiting = list(dict.fromkeys(ids))
    while waiting:
        pipe = r.pipeline(transaction=False)
        for event_id in waiting:
            pipe.hget(f"aj:ev:{event_id}", "outcome")
        waiting = [i for i, o in zip(waiting, pipe.execute(), strict=True) if o in (None, "pending")]
        if not waiting or time.monotonic() > deadline:
            return len(waiting)
        time.sleep(0.2)
    return 0


_ID = re.compile(r"(?<=:)(?:ev_[0-9a-f_A-Za-z]+|int_[0-9a-f]+|[0-9a-f-]{16,}|SM[0-9a-f]+|\+?\d+)(?=:|$)")


def key_families(r: redis.Redis) -> dict[str, dict[str, int]]:
    """Keys grouped by pattern (ids replaced by `*`): how many, and their MEMORY USAGE in bytes."""
    found: dict[str, dict[str, int]] = {}
    batch: list[str] = []

    def measure() -> None:
        pipe = r.pipeline(transaction=False)
        for key in batch:
            pipe.memory_usage(key, samples=0)
        for key, size in zip(batch, pipe.execute(), strict=True):
            family = found.setdefault(_ID.sub("*", key), {"keys": 0, "bytes": 0})
            family["keys"] += 1
            family["bytes"] += int(size or 0)
        batch.clear()

    for key in r.scan_iter(count=5000):
        batch.append(key)
        if len(batch) >= 2000:
            measure()
    measure()
    return found


def soak(
    f: Fleet, urls: dict[str, str], total: int, batch: int = 1000, settle_timeout_s: float = 300
) -> Soak:
    """Post about `total` events through the fleet's ingest (`start_fleet`) in batches, sampling memory."""
    token, callers = world(urls["jobber"], urls["aircall"])
    ingest_url = urls["ingest"]
    r = redis.Redis.from_url(f.redis.url, decode_responses=True)
    events = traffic(token, callers, total)
    result = Soak(events=len(events))
    result.checkpoints.append({"events": 0, "used_memory": used_memory(r), "t": time.monotonic()})
    for start in range(0, len(events), batch):
        chunk = events[start : start + batch]
        deliveries = [d for i, e in enumerate(chunk) for d in ([e, e] if i % DUPLICATE_EVERY == 0 else [e])]
        answers = post_all_answers(ingest_url, deliveries)
        result.posted += len(deliveries)
        result.duplicates += len(deliveries) - len(chunk)
        ids = []
        for event, answer in zip(deliveries, answers, strict=True):
            result.statuses[answer["status"]] += 1
            if answer["status"] in ("enqueued", "skipped"):
                ids.append(answer["id"])
                if event["event"] == "call.ended":
                    result.accepted_calls[str(event["data"]["id"])] = answer["id"]
        result.unsettled += wait_settled(r, ids, settle_timeout_s)
        result.checkpoints.append(
            {"events": start + len(chunk), "used_memory": used_memory(r), "t": time.monotonic()}
        )
        print(
            f"soak: {start + len(chunk)} events, used_memory {used_memory(r) / 2**20:.1f} MiB",
            file=sys.stderr,
        )
    result.families = key_families(r)
    return result


def post_all_answers(
    ingest_url: str, events: list[dict[str, Any]], concurrency: int = 8
) -> list[dict[str, Any]]:
    """POST each webhook; return the ingest's JSON answers in order."""
    from concurrent.futures import ThreadPoolExecutor

    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=concurrency))

    def post(event: dict[str, Any]) -> dict[str, Any]:
        response = session.post(f"{ingest_url}/webhooks/aircall", json=event, timeout=10)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(post, events))


def start_fleet(f: Fleet, worker_concurrency: int = 16, env: dict[str, str] | None = None) -> dict[str, str]:
    """Sandbox vendors, the ingest and one worker process; returns their URLs."""
    f.env |= {"AIRCALL_RATE_LIMIT_PER_MIN": "100000", **(env or {})}
    urls = {"jobber": f.jobber(), "aircall": f.aircall()}
    f.point_at(jobber_url=urls["jobber"], aircall_url=urls["aircall"])
    urls["ingest"] = f.ingest()
    f.worker(concurrency=worker_concurrency)
    return urls


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=2_000)
    return ap


def run(args: argparse.Namespace) -> dict[str, Any]:
    with fleet() as f:
        result = soak(f, start_fleet(f), args.events, args.batch)
        return {"benchmark": "soak", **result.summary(), "meets_target": result.unsettled == 0}


if __name__ == "__main__":
    print(json.dumps(run(parser().parse_args()), indent=2))
