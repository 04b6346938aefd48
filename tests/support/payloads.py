"""Webhook bodies for tests (the scenario builders in sandbox/scenarios cover full lifecycles)."""

from __future__ import annotations

import itertools
from typing import Any

_ids = itertools.count(1_000_000_001)


def call_event(
    token: str, event: str = "call.ended", call_id: int | None = None, **data: Any
) -> dict[str, Any]:
    cid = call_id if call_id is not None else next(_ids)
    return {
        "resource": "call",
        "event": event,
        "timestamp": 1732622990,
        "token": token,
        "data": {
            "id": cid,
            "direction": "inbound",
            "status": "done",
            "started_at": 1732622895,
            "answered_at": 1732622901,
            "ended_at": 1732622960,
            "duration": 65,
            "raw_digits": "+1 415-555-0100",
            "user": {"id": 456, "name": "Madelaine Dupont", "email": "madelaine@acme.com"},
            "number": {"id": 789, "name": "Support line", "digits": "+1 415-555-0199", "country": "US"},
            "comments": [],
            "tags": [],
            **data,
        },
    }
