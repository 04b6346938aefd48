"""Scenario driver: plays Aircall webhook traffic at a receiver, optionally keeping the Aircall emulator
in step (calls registered, AI content generated) so the receiver's workers can call the REST API.

    python -m sandbox.play SCENARIO --target http://127.0.0.1:8000 --token WEBHOOK_TOKEN
        [--aircall-url URL] [--rate N/s] [--duplicates K] [--shuffle] [--seed S] [--count N]
        [--externals +1415...,+1415...] [--number JSON]... [--users JSON] [--dump] [--list]

Prints a JSON summary; exits 1 if any delivery (or emulator update) failed unexpectedly (non-2xx/error)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import requests

from sandbox.scenarios import SCENARIOS, ScenarioContext, build, delivery_order
from sandbox.scenarios.payloads import CI_EVENTS, Event


@dataclass
class PlayResult:
    sent: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    sandbox_errors: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures and not self.sandbox_errors

    def summary(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "statuses": dict(sorted(self.statuses.items())),
            "failed": len(self.failures),
            "failures": self.failures[:10],
            "sandbox_errors": self.sandbox_errors[:10],
            "elapsed_s": round(self.elapsed_s, 3),
            "rate_per_s": round(self.sent / self.elapsed_s, 1) if self.elapsed_s else None,
        }


def webhook_url(target: str) -> str:
    """`http://host:8000` -> `http://host:8000/webhooks/aircall`; a target with a path is used as is."""
    return target.rstrip("/") + "/webhooks/aircall" if urlparse(target).path in ("", "/") else target


class EmulatorSync:
    """Mirrors the scenario into the Aircall emulator before each webhook: call snapshots are upserted
    (`POST /_sandbox/calls`, forward-only) and CI content is generated (`POST /_sandbox/calls/:id/ai`)."""

    def __init__(self, session: requests.Session, base: str, events: list[Event], timeout: float):
        self.session, self.base, self.timeout = session, base.rstrip("/"), timeout
        # The last snapshot of each call, so a CI event arriving first (shuffle) can still register its call.
        self.final: dict[int, dict[str, Any]] = {}
        for e in events:
            if e["resource"] == "call":
                self.final[int(e["data"]["id"])] = e["data"]

    def _post(self, path: str, body: dict[str, Any]) -> None:
        r = self.session.post(self.base + path, json=body, timeout=self.timeout)
        if r.status_code >= 300:
            raise RuntimeError(f"POST {path} -> {r.status_code} {r.text[:200]}")

    def before(self, event: Event) -> None:
        if event["resource"] == "call":
            self._post("/_sandbox/calls", {"call": event["data"], "token": event["token"]})
        elif event["event"] in CI_EVENTS:
            call_id = int(event["data"]["call_id"])
            if call_id in self.final:
                self._post("/_sandbox/calls", {"call": self.final[call_id], "token": event["token"]})
            self._post(f"/_sandbox/calls/{call_id}/ai", {"kinds": [CI_EVENTS[event["event"]]]})


def play(
    events: list[Event],
    target: str,
    *,
    rate: float | None = None,
    aircall_url: str | None = None,
    timeout: float = 10.0,
    session: requests.Session | None = None,
) -> PlayResult:
    """POST each event (JSON) to `target` on one keep-alive session, at most `rate` per second."""
    session = session or requests.Session()
    url = webhook_url(target)
    sync = EmulatorSync(session, aircall_url, events, timeout) if aircall_url else None
    result = PlayResult()
    t0 = time.monotonic()
    for i, event in enumerate(events):
        if rate:
            delay = t0 + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        if sync is not None:
            try:
                sync.before(event)
            except (requests.RequestException, RuntimeError) as exc:
                result.sandbox_errors.append(f"{event['event']}: {exc}")
        try:
            r = session.post(url, json=event, timeout=timeout, headers={"aircall-origin": "webhooks"})
            result.statuses[str(r.status_code)] += 1
            if not 200 <= r.status_code < 300:
                result.failures.append(f"{event['event']} -> {r.status_code} {r.text[:200]}")
        except requests.RequestException as exc:
            result.statuses["error"] += 1
            result.failures.append(f"{event['event']} -> {type(exc).__name__}: {exc}")
        result.sent += 1
    result.elapsed_s = time.monotonic() - t0
    return result


def _rate(value: str) -> float:
    return float(value.removesuffix("/s"))


def _discover(aircall_url: str, token: str | None, company_id: int | None) -> dict[str, Any]:
    """Find the emulator company (by webhook token or id) to borrow its token, numbers and users."""
    state = requests.get(aircall_url.rstrip("/") + "/_sandbox/state", timeout=10).json()
    for company in state["companies"]:
        tokens = [w["token"] for w in company["webhooks"] if w["active"]]
        if (company_id is not None and company["id"] == company_id) or (
            company_id is None and tokens and (token is None or token in tokens)
        ):
            return {
                "token": token or tokens[-1] if tokens else token,
                "numbers": company["numbers"],
                "users": company["users"],
                "company_id": company["id"],
            }
    raise SystemExit("no emulator company matches (register a webhook first, or pass --token/--company-id)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m sandbox.play",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("scenario", nargs="?", default="demo", help="scenario name (see --list)")
    ap.add_argument("--target", default="http://127.0.0.1:8000", help="receiver base URL or full webhook URL")
    ap.add_argument("--token", help="webhook token (default: discovered from --aircall-url)")
    ap.add_argument("--aircall-url", help="Aircall emulator: also register calls / AI content in it")
    ap.add_argument("--company-id", type=int, help="emulator company to discover token/numbers from")
    ap.add_argument("--rate", type=_rate, help="events per second, e.g. 20 or 20/s (default: unpaced)")
    ap.add_argument("--duplicates", type=int, default=1, help="send each event K times")
    ap.add_argument("--shuffle", action="store_true", help="send in random order")
    ap.add_argument("--seed", type=int, help="seed for ids and shuffling")
    ap.add_argument("--count", type=int, default=1, help="repeat the scenario N times")
    ap.add_argument("--externals", help="comma-separated E.164 numbers of the callers (e.g. seeded clients)")
    ap.add_argument("--number", action="append", help="Aircall number object as JSON (repeatable)")
    ap.add_argument("--users", help="JSON list of Aircall user objects {id,name,email}")
    ap.add_argument("--dump", action="store_true", help="print the events as JSON and do not send")
    ap.add_argument("--list", action="store_true", help="list scenarios and exit")
    args = ap.parse_args(argv)
    if args.list:
        for name, fn in sorted(SCENARIOS.items()):
            print(f"{name:24} {(fn.__doc__ or '').strip().splitlines()[0] if fn.__doc__ else ''}")
        return 0
    if args.scenario not in SCENARIOS:
        ap.error(f"unknown scenario {args.scenario!r} (see --list)")
    ctx_kwargs: dict[str, Any] = {"seed": args.seed}
    token = args.token
    if args.aircall_url and not args.dump:
        found = _discover(args.aircall_url, token, args.company_id)
        token = found["token"]
        ctx_kwargs.update(numbers=found["numbers"], users=found["users"], company_id=found["company_id"])
    if not token:
        if not args.dump:
            ap.error("--token is required (or --aircall-url with a registered webhook)")
        token = "sandbox-webhook-token"
    ctx_kwargs["token"] = token
    if args.externals:
        ctx_kwargs["externals"] = [x.strip() for x in args.externals.split(",") if x.strip()]
    if args.number:
        ctx_kwargs["numbers"] = [json.loads(n) for n in args.number]
    if args.users:
        ctx_kwargs["users"] = json.loads(args.users)
    events = build(args.scenario, ScenarioContext(**ctx_kwargs), count=args.count)
    events = delivery_order(events, duplicates=args.duplicates, shuffle=args.shuffle, seed=args.seed)
    if args.dump:
        json.dump(events, sys.stdout, indent=2)
        print()
        return 0
    result = play(events, args.target, rate=args.rate, aircall_url=args.aircall_url)
    print(json.dumps({"scenario": args.scenario, "events": len(events), **result.summary()}, indent=2))
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
