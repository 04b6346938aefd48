"""Plain-ASGI helpers for the webhook receivers (the hot path): bounded body reads and JSON answers."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from prometheus_client import Counter
from redis.exceptions import RedisError
from starlette.types import Receive, Scope, Send

from ingest.metrics import WEBHOOKS_RECEIVED, WEBHOOKS_REJECTED
from store.ledger import AsyncLedger, Claim
from store.replication import NotReplicated, ReplicatedLedger

log = logging.getLogger("ingest")
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


async def respond(send: Send, status: int, doc: dict[str, Any]) -> None:
    body = orjson.dumps(doc)
    headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def reject(send: Send, source: str, status: int, reason: str, message: str) -> None:
    _child(WEBHOOKS_REJECTED, reason).inc()
    log.info("ingest.%s.rejected status=%d reason=%s", source, status, reason)
    await respond(send, status, {"error": message})


async def claim_or_503(
    ledger: AsyncLedger | ReplicatedLedger, send: Send, source: str, **fields: Any
) -> Claim | None:
    """Store and enqueue (store.ledger); None after answering 503 when Redis cannot be reached — nothing was
    stored, so the sender's retry is the right remedy, and this process keeps serving. With
    REDIS_WAIT_REPLICAS the ledger is a ReplicatedLedger: 503 also when no replica confirmed in time (the
    event may be stored; the retry is a duplicate, acknowledged once a replica holds it)."""
    try:
        return await ledger.claim(source=source, **fields)
    except NotReplicated as exc:
        log.warning("ingest.%s.not_replicated event=%s error=%s", source, fields.get("event_id"), exc)
        await respond(send, 503, {"error": "not yet on a replica, retry later"})
        return None
    except RedisError as exc:
        log.error("ingest.%s.storage_unavailable error=%s", source, type(exc).__name__)
        await respond(send, 503, {"error": "storage unavailable, retry later"})
        return None
