"""Memory soak (issue 10): tens of thousands of webhooks through the real roles, sampling Redis memory.

One ingest process and one worker process (threads), the sandbox Jobber and Aircall, a private Redis (AOF on,
noeviction). The traffic is the scenario library's demo mix (every call shape, messages, AI insights, AI
Voice Agent calls) for a dozen tenants, each from a pool of callers half known to Jobber (the rest are
created), with one delivery in ten sent twice. Events are posted in batches; after each batch has settled
(no event pending) `INFO memory` gives `used_memory`: what the traffic left behind once its work was done.

With the production retention (EVENT_TTL_DAYS = 30) nothing expires during a run, so the slope is what each
event leaves for a month: `bytes_per_10k_events` (after the first batch: Lua scripts, Celery's bindings and
the integrations are warm-up). With `--retention-s` the retention is compressed to seconds, and the run goes
on for several retention windows: memory levels off (`plateau`: growth per 1,000 events in the last third
against the first third).

Also reported: what each key family holds at the end (MEMORY USAGE by pattern), raw bodies still held by
settled events (none expected), and keys with neither a TTL nor an owner (store/keys.py PERSISTENT; none).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import redis
import requests

from sandbox.fleet import Fleet, fleet, provision_tenant, seed_clients
from sandbox.scenarios import ScenarioContext, build
from sandbox.scenarios import payloads as p
from store import keys

LINE = p.number_object(789, e164="+14155550199", name="Support line")
TENANTS = 12
CALLERS = 60  # per tenant
KNOWN_CALLERS = 30
DUPLICATE_EVERY = 10


@dataclass
class Soak:
    """What a soak run measured. `accepted_calls`: call id → the event id of its accepted `call.ended`;
    `outcomes`: that event's outcome once its batch settled (with a compressed retention the ledger may have
    forgotten it by the end of the run)."""

    events: int = 0
    posted: int = 0
    duplicates: int = 0
    elapsed_s: float = 0.0
    checkpoints: list[dict[str, float]] = field(default_factory=list)
    families: dict[str, dict[str, int]] = field(default_factory=dict)
    accepted_calls: dict[str, str] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)
    statuses: Counter[str] = field(default_factory=Counter)
    unsettled: int = 0
    raw_bodies_kept: int = 0
    without_ttl_or_owner: list[str] = field(default_factory=list)
    retention_s: float | None = None  # compressed EVENT_TTL_DAYS, if any

    def bytes_per_10k(self, start: int = 1) -> float:
        """Retained bytes per 10,000 events between checkpoint `start` and the last one."""
        return round(self.growth_per_1k(start, len(self.checkpoints) - 1) * 10)

    def growth_per_1k(self, a: int, b: int) -> float:
        """Bytes of `used_memory` per 1,000 events over checkpoints a..b: the least-squares slope, so that one
        noisy sample (client buffers, keys expired but not yet reclaimed) does not decide it."""
        points = [(c["events"], c["used_memory"]) for c in self.checkpoints[a : b + 1]]
        n = len(points)
        mean_x, mean_y = sum(x for x, _ in points) / n, sum(y for _, y in points) / n
        spread = sum((x - mean_x) ** 2 for x, _ in points)
        return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread * 1000 if spread else 0.0

    def plateau(self) -> dict[str, float]:
        """Growth per 1,000 events while nothing can have expired yet (after the warm-up batch, until the
        retention has elapsed; the first third of the run without one) against the last third of the run, and
        their ratio: near 0 once memory has levelled off, 1 for steady growth."""
        n = len(self.checkpoints) - 1
        young = [i for i, c in enumerate(self.checkpoints) if i and c["t"] <= (self.retention_s or 0)]
        first_end = max(2, young[-1] if young else n // 3)
        first, last = self.growth_per_1k(1, first_end), self.growth_per_1k(n - n // 3, n)
        return {
            "first_bytes_per_1k": round(first),
            "last_third_bytes_per_1k": round(last),
            "ratio": round(last / first, 3) if first > 0 else float("nan"),
        }

    def summary(self) -> dict[str, Any]:
        step = max(1, (len(self.checkpoints) - 1) // 10)
        shown = self.checkpoints[::step] + (
            [] if (len(self.checkpoints) - 1) % step == 0 else self.checkpoints[-1:]
        )
        return {
            "events": self.events,
            "deliveries": self.posted,
            "duplicate_deliveries": self.duplicates,
            "statuses": dict(self.statuses),
            "unsettled": self.unsettled,
            "elapsed_s": round(self.elapsed_s, 1),
            "events_per_s": round(self.events / self.elapsed_s, 1) if self.elapsed_s else None,
            "events_at": [int(c["events"]) for c in shown],
            "used_memory_mib": [round(c["used_memory"] / 2**20, 2) for c in shown],
            "bytes_per_10k_events": self.bytes_per_10k(),
            "plateau": self.plateau(),
            "raw_bodies_kept_after_settling": self.raw_bodies_kept,
            "keys_without_ttl_or_owner": self.without_ttl_or_owner[:10],
            "key_families": dict(sorted(self.families.items(), key=lambda kv: -kv[1]["bytes"])[:12]),
        }


def tenants(jobber_url: str, aircall_url: str, count: int) -> list[tuple[str, list[str]]]:
    """`count` active integrations on LINE that create missing clients, each with its own Jobber account
    (Jobber allows an account 2,500 requests per 5 minutes: one account alone would pace the whole run),
    sharing one Aircall company; returns each one's webhook token and caller pool (half known to Jobber)."""
    # Aircall's rate budget is not what this run measures: the company allows far more than the traffic needs.
    company = requests.post(
        f"{aircall_url}/_sandbox/companies", json={"name": "Soak", "rate_limit_per_min": 100_000}, timeout=10
    ).json()
    found = []
    for t in range(count):
        account = requests.post(
            f"{jobber_url}/_sandbox/accounts", json={"name": f"Soak {t}"}, timeout=10
        ).json()
        callers = [f"+1415{t:03d}{i:04d}" for i in range(CALLERS)]
        seed_clients(jobber_url, account["account"]["id"], callers[:KNOWN_CALLERS])
        token = provision_tenant(
            account, numbers=[LINE["id"]], aircall_company=company, create_missing_clients=True
        )
        found.append((token, callers))
    return found


def traffic(world: list[tuple[str, list[str]]], seed: int = 7) -> Iterator[dict[str, Any]]:
    """The demo mix, one round after another (a demo per tenant, in Aircall's time order), without end."""
    start = int(time.time())
    contexts = [
        ScenarioContext(
            token=token,
            externals=callers,
            numbers=[LINE],
            seed=seed + t,
            start=start,
            first_call_id=1_800_000_000 + t * 10_000_000,
        )
        for t, (token, callers) in enumerate(world)
    ]
    while True:
        yield from sorted((e for ctx in contexts for e in build("demo", ctx)), key=lambda e: e["timestamp"])


def used_memory(r: redis.Redis) -> int:
    return int(r.info("memory")["used_memory"])


def settle(r: redis.Redis, ids: list[str], timeout_s: float) -> dict[str, str]:
    """Wait until none of `ids` is pending in the ledger; their outcomes (`pending` for any left at the
    timeout)."""
    deadline = time.monotonic() + timeout_s
    outcomes: dict[str, str] = {}
    waiting = list(dict.fromkeys(ids))
    while waiting:
        pipe = r.pipeline(transaction=False)
        for event_id in waiting:
            pipe.hget(keys.event(event_id), "outcome")
        found = dict(zip(waiting, pipe.execute(), strict=True))
        outcomes |= {i: o for i, o in found.items() if o not in (None, "pending")}
        waiting = [i for i, o in found.items() if o in (None, "pending")]
        if waiting and time.monotonic() > deadline:
            return outcomes | dict.fromkeys(waiting, "pending")
        if waiting:
            time.sleep(0.1)
    return outcomes


def family(key: str) -> str:
    """`aj:ev:ev_3f…:log` → `aj:ev:*:log`: segments that are ids (digits, base64, hashes) become `*`."""
    return ":".join(p if re.fullmatch(r"[a-z_.]+", p) else "*" for p in key.split(":"))


def audit(r: redis.Redis, result: Soak) -> None:
    """Every key at the end: its family's size, whether a settled event still holds its raw body, and whether
    it has a TTL or an owner (store/keys.py)."""
    names: list[str] = []

    def measure() -> None:
        pipe = r.pipeline(transaction=False)
        for key in names:
            pipe.memory_usage(key, samples=0)
            pipe.ttl(key)
            if _is_event(key):
                pipe.hget(key, "raw")
            else:
                pipe.exists(key)  # a placeholder: three answers per key
        values = pipe.execute()
        for i, key in enumerate(names):
            size, ttl, raw = values[3 * i : 3 * i + 3]
            group = result.families.setdefault(family(key), {"keys": 0, "bytes": 0})
            group["keys"] += 1
            group["bytes"] += int(size or 0)
            if _is_event(key) and raw is not None:
                result.raw_bodies_kept += 1
            if ttl == -1 and not any(fnmatch.fnmatchcase(key, p) for p in keys.PERSISTENT):
                result.without_ttl_or_owner.append(key)
        names.clear()

    for key in r.scan_iter(count=5000):
        names.append(key)
        if len(names) >= 2000:
            measure()
    measure()


def _is_event(key: str) -> bool:
    return key.startswith(keys.event("")) and not key.endswith(":log")


def soak(
    f: Fleet,
    urls: dict[str, str],
    total: int,
    batch: int = 1000,
    min_seconds: float = 0.0,
    settle_timeout_s: float = 300,
    retention_s: float | None = None,
) -> Soak:
    """Post at least `total` events (and for at least `min_seconds`) through the fleet's ingest
    (`start_fleet`) in batches, sampling memory after each batch has settled."""
    world = tenants(urls["jobber"], urls["aircall"], TENANTS)
    r = redis.Redis.from_url(f.redis.url, decode_responses=True)
    stream = traffic(world)
    result = Soak(retention_s=retention_s)
    began = time.monotonic()
    result.checkpoints.append({"events": 0, "used_memory": used_memory(r), "t": 0.0})
    while result.events < total or time.monotonic() - began < min_seconds:
        chunk = [next(stream) for _ in range(batch)]
        deliveries = [d for i, e in enumerate(chunk) for d in ([e, e] if i % DUPLICATE_EVERY == 0 else [e])]
        answers = post_all_answers(urls["ingest"], deliveries)
        result.events += len(chunk)
        result.posted += len(deliveries)
        result.duplicates += len(deliveries) - len(chunk)
        ids, ended = [], {}
        for event, answer in zip(deliveries, answers, strict=True):
            result.statuses[answer["status"]] += 1
            if answer["status"] in ("enqueued", "skipped"):
                ids.append(answer["id"])
                if event["event"] == "call.ended":
                    ended[str(event["data"]["id"])] = answer["id"]
        outcomes = settle(r, ids, settle_timeout_s)
        result.unsettled += sum(1 for o in outcomes.values() if o == "pending")
        result.accepted_calls |= ended
        result.outcomes |= {e: outcomes[e] for e in ended.values()}
        result.checkpoints.append(
            {"events": result.events, "used_memory": used_memory(r), "t": time.monotonic() - began}
        )
        print(f"soak: {result.events} events, used_memory {used_memory(r) / 2**20:.1f} MiB", file=sys.stderr)
    result.elapsed_s = time.monotonic() - began
    audit(r, result)
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


def start_fleet(f: Fleet, retention_s: float | None = None, worker_concurrency: int = 16) -> dict[str, str]:
    """Sandbox vendors, the ingest and one worker process; returns their URLs. `retention_s` compresses
    EVENT_TTL_DAYS (the ledger and the call snapshots) to seconds."""
    f.env |= {"AIRCALL_RATE_LIMIT_PER_MIN": "100000"}
    urls = {"jobber": f.jobber(), "aircall": f.aircall()}
    f.point_at(jobber_url=urls["jobber"], aircall_url=urls["aircall"])  # also this process's environment
    if retention_s:  # the ingest's and the worker's only
        f.env = f.env | {"EVENT_TTL_DAYS": repr(retention_s / 86400)}
    urls["ingest"] = f.ingest()
    f.worker(concurrency=worker_concurrency)
    return urls


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=10_000)
    ap.add_argument("--batch", type=int, default=1_000)
    ap.add_argument(
        "--retention-s", type=float, default=None, help="compress EVENT_TTL_DAYS to this (plateau)"
    )
    ap.add_argument("--min-seconds", type=float, default=0.0, help="keep posting at least this long")
    return ap


def run(args: argparse.Namespace) -> dict[str, Any]:
    with fleet() as f:
        urls = start_fleet(f, args.retention_s)
        result = soak(f, urls, args.events, args.batch, args.min_seconds, retention_s=args.retention_s)
        clean = not (result.unsettled or result.raw_bodies_kept or result.without_ttl_or_owner)
        return {
            "benchmark": "soak",
            "retention_s": args.retention_s or "EVENT_TTL_DAYS",
            **result.summary(),
            "meets_target": clean,
        }


if __name__ == "__main__":
    print(json.dumps(run(parser().parse_args()), indent=2))
