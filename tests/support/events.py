"""Posting an event through the ingest and reading its outcome, for flow tests."""

from __future__ import annotations

import requests

from store.ledger import Ledger
from store.redis import sync_client
from tests.support.payloads import call_event


def send(ingest_url: str, token: str) -> str:
    """POST a `call.ended` for a new call; the event id the ingest accepted."""
    response = requests.post(f"{ingest_url}/webhooks/aircall", json=call_event(token), timeout=5)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def outcome(event_id: str) -> str:
    return (Ledger(sync_client()).get(event_id) or {}).get("outcome", "")
