"""The reliability suite's bookkeeping: for every call event we accepted, exactly one outcome.

An accepted `call.ended` must end as exactly one of: logged once (one Jobber note carrying the call's
`Aircall:` link), skipped with a reason, or dead-lettered (replayable). Anything else is a loss (accepted,
no outcome and no note) or a double (two notes for one call). `make reliability` prints one line per
scenario and fails on any loss or double.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import redis
import requests

CALL_LINK = re.compile(r"^Aircall: \S*/calls/(\d+)\s*$", re.MULTILINE)
RESULTS: list[Accounting] = []  # collected for the terminal summary (tests/reliability/conftest.py)


def scale(short: int, full: int) -> int:
    """Volume of a scenario: short in `make test`, full in `make reliability` (RELIABILITY_SCALE=full)."""
    return full if os.environ.get("RELIABILITY_SCALE") == "full" else short


@dataclass
class Accounting:
    scenario: str
    accepted: int = 0
    logged_once: int = 0
    skipped: int = 0
    dead_lettered: int = 0
    lost: int = 0
    doubled: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.doubled == 0

    def line(self) -> str:
        figures = " ".join(f"{k}={v}" for k, v in self.extra.items())
        return (
            f"{'OK  ' if self.ok else 'FAIL'} {self.scenario:<44} accepted={self.accepted} "
            f"logged_once={self.logged_once} skipped={self.skipped} dead_lettered={self.dead_lettered} "
            f"lost={self.lost} doubled={self.doubled} {figures}"
        ).rstrip()


def notes_per_call(jobber_url: str) -> Counter[str]:
    """How many Jobber notes carry each call's `Aircall:` link, over every sandbox account."""
    state = requests.get(f"{jobber_url}/_sandbox/state", timeout=30).json()
    found: Counter[str] = Counter()
    for account in state["accounts"]:
        for client in account["clients"]:
            for note in client.get("notes") or []:
                found.update(CALL_LINK.findall(note.get("message") or ""))
    return found


def account_calls(
    scenario: str,
    r: redis.Redis,
    jobber_url: str,
    accepted: dict[str, str],
    outcomes: dict[str, str] | None = None,
    **extra: Any,
) -> Accounting:
    """`accepted`: call id → the event id of its accepted `call.ended`. `outcomes`: event id → outcome as
    seen when it settled, for runs whose ledger forgets events before the end (a compressed retention); else
    the ledger is read. Records and returns the accounting."""
    notes = notes_per_call(jobber_url)
    result = Accounting(scenario, accepted=len(accepted), extra=extra)
    for call_id, event_id in accepted.items():
        count = notes.get(str(call_id), 0)
        outcome = outcomes.get(event_id) if outcomes is not None else r.hget(f"aj:ev:{event_id}", "outcome")
        dead = r.exists(f"aj:dead:{event_id}")
        if count > 1:
            result.doubled += 1
        elif count == 1:
            result.logged_once += 1
        elif dead or outcome == "failed":
            result.dead_lettered += 1
        elif outcome == "skipped":
            result.skipped += 1
        else:
            result.lost += 1
    RESULTS.append(result)
    return result
