"""Jobber webhooks (jobber-api.md §4): the `X-Jobber-Hmac-SHA256` signature, the payload, and its identity."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

# Topics the service acts on; the rest are acknowledged and ignored.
ROUTED_TOPICS = frozenset({"CLIENT_CREATE", "CLIENT_UPDATE", "CLIENT_DESTROY", "APP_DISCONNECT"})


class WebhookError(ValueError):
    """Not a usable Jobber webhook; the message is safe to return."""


def signature_ok(raw_body: bytes, header: bytes | str | None, client_secret: str) -> bool:
    """Base64(HMAC-SHA256(key = app client secret, message = raw body)), compared in constant time.

    Compared as bytes: the header is whatever the sender put on the wire, and `compare_digest` refuses
    (raises on) a str that is not ASCII."""
    if not header or not client_secret:
        return False
    if isinstance(header, str):
        header = header.encode("utf-8", "replace")
    expected = base64.b64encode(hmac.new(client_secret.encode(), raw_body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, header.strip())


@dataclass(frozen=True)
class JobberEvent:
    topic: str
    account_id: str
    item_id: str
    occurred_at: str

    @property
    def event(self) -> str:
        """The ledger's event name: `jobber.CLIENT_UPDATE`."""
        return f"jobber.{self.topic}"

    @property
    def routed(self) -> bool:
        return self.topic in ROUTED_TOPICS

    @property
    def label(self) -> str:
        """The topic as a metric label: only the topics we act on, so labels stay a small fixed set."""
        return self.topic if self.routed else "other"

    def event_id(self) -> str:
        """Jobber redelivers with the same (topic, itemId, occurredAt) (jobber-api.md §4.2)."""
        key = "\x1f".join(("jobber", self.account_id, self.topic, self.item_id, self.occurred_at))
        return "ev_" + hashlib.sha256(key.encode()).hexdigest()[:26]


def parse_webhook(doc: Any) -> JobberEvent:
    """`{"data": {"webHookEvent": {topic, appId, accountId, itemId, occurredAt}}}`; older apps send
    `occuredAt` (sic), accepted too. Every field is checked for its type: a signed body is still input."""
    data = doc.get("data") if isinstance(doc, dict) else None
    event = data.get("webHookEvent") if isinstance(data, dict) else None
    if not isinstance(event, dict):
        raise WebhookError("missing field: data.webHookEvent (an object)")
    topic, account = event.get("topic"), event.get("accountId")
    if not isinstance(topic, str) or not topic:
        raise WebhookError("missing field: data.webHookEvent.topic")
    if not isinstance(account, str) or not account:
        raise WebhookError("missing field: data.webHookEvent.accountId")
    item = event.get("itemId")
    if item is not None and (isinstance(item, bool) or not isinstance(item, str | int)):
        raise WebhookError("data.webHookEvent.itemId must be a string")
    occurred = event.get("occurredAt") or event.get("occuredAt") or ""
    if not isinstance(occurred, str):
        raise WebhookError("data.webHookEvent.occurredAt must be a string")
    return JobberEvent(topic=topic, account_id=account, item_id=str(item or ""), occurred_at=occurred)
