"""Plain-ASGI helpers for the webhook receivers (the hot path): bounded body reads and JSON answers."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import orjson
from prometheus_client import Counter
from starlette.types import Receive, Scope, Send

from config import tracing
from ingest.metrics import WEBHOOKS_RECEIVED, WEBHOOKS_REJECTED
from ingest.tracing import traced_claim
from store.ledger import AsyncLedger, Claim, Inbound
from store.redis import RedisError
from store.replication import NotReplicated, ReplicatedLedger

log = logging.getLogger(__name__)
_JSON_HEADERS = [(b"content-type", b"application/json")]
_children: dict[tuple[str, ...], Any] = {}


def _child(metric: Counter, *labels: str) -> Any:
    # labels() hashes and locks on every call; the hot path reuses the child.
    key = (metric._name, *labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*labels)
    return child


def count_received(source: str, event: str) -> None:
    _child(WEBHOOKS_RECEIVED, source, event).inc()


class BodyTooLarge(Exception):
    pass


class BodyIncomplete(Exception):
    """The sender hung up before its body was complete: there is no one to answer, and nothing to act on."""


def abandon(source: str) -> None:
    # Counted with the refusals: a proxy that truncates bodies shows up here rather than as lost webhooks.
    _child(WEBHOOKS_REJECTED, "incomplete_body").inc()
    log.info("ingest.%s.abandoned reason=incomplete_body", source)


async def read_limited(scope: Scope, receive: Receive, limit: int) -> bytes:
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise BodyTooLarge
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise BodyIncomplete
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def respond(
    send: Send, status: int, doc: dict[str, Any], extra_headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = orjson.dumps(doc)
    headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode()), *(extra_headers or ())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def reject(send: Send, source: str, status: int, reason: str, message: str) -> None:
    _child(WEBHOOKS_REJECTED, reason).inc()
    log.info("ingest.%s.rejected status=%d reason=%s", source, status, reason)
    await respond(send, status, {"error": message})


async def claim_or_503(ledger: AsyncLedger | ReplicatedLedger, send: Send, inbound: Inbound) -> Claim | None:
    """Store and enqueue (store.ledger); None after answering 503 when Redis cannot be reached — nothing was
    stored, so the sender's retry is the right remedy, and this process keeps serving. With
    REDIS_WAIT_REPLICAS the ledger is a ReplicatedLedger: 503 also when no replica confirmed in time (the
    event may be stored; the retry is a duplicate, acknowledged once a replica holds it)."""
    try:
        if tracing.enabled():
            return await traced_claim(ledger, inbound)
        return await ledger.claim(inbound)
    except NotReplicated as exc:
        log.warning("ingest.%s.not_replicated event=%s error=%s", inbound.source, inbound.event_id, exc)
        await respond(send, 503, {"error": "not yet on a replica, retry later"})
        return None
    except RedisError as exc:
        log.error("ingest.%s.storage_unavailable error=%s", inbound.source, type(exc).__name__)
        await respond(send, 503, {"error": "storage unavailable, retry later"})
        return None


THROTTLE_LOG_EVERY_S = 60.0
THROTTLE_LOG_KEPT = 10_000


class Throttled:
    """A tenant's webhooks refused with 429 (store.ledger TenantLimits): counted in
    `aj_webhooks_rejected_total{reason}` every time, logged at most once a minute per integration and reason
    per process (a 429 storm is thousands a second; the count per integration is in
    `aj_webhooks_throttled_total`). Used from one event loop, so no lock."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._logged: dict[tuple[str, str], float] = {}  # insertion order = age

    async def answer(
        self, send: Send, source: str, reason: str, integration_id: str, retry_after_s: int
    ) -> None:
        _child(WEBHOOKS_REJECTED, reason).inc()
        now, key = self.clock(), (integration_id, reason)
        last = self._logged.get(key)
        if last is None or now - last >= THROTTLE_LOG_EVERY_S:
            if last is None and len(self._logged) >= THROTTLE_LOG_KEPT:
                del self._logged[next(iter(self._logged))]
            self._logged[key] = now
            log.warning(
                "ingest.%s.throttled integration=%s reason=%s: answered 429 (logged once a minute; every one "
                "is counted in aj_webhooks_throttled_total)",
                source,
                integration_id,
                reason,
            )
        message = (
            "too many webhooks for this integration, retry later"
            if reason == "rate_limited"
            else "too many events of this integration waiting to be processed, retry later"
        )
        await respond(send, 429, {"error": message}, [(b"retry-after", str(retry_after_s).encode())])
