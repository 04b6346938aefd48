"""POST /webhooks/aircall: size check → parse → envelope → tenant by token → claim + enqueue → 200.

One Redis round trip per webhook (store.ledger.CLAIM_LUA). Answers: 200 accepted / duplicate / ignored /
skipped, 400 bad JSON or envelope, 401 unknown token, 413 body over the limit. The token is redacted from
the stored raw event and never logged.

This is the hot path (issue 2: ≥ 5,000 webhooks/s per process), so it is a plain ASGI callable rather than a
Starlette endpoint: no Request/Response objects, orjson, and pre-built response headers.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from config.celery import DIRECT_ROUTES, QUEUE_DEFAULT, ROUTE_TASK
from domain.envelope import LIFECYCLE_EVENTS, EnvelopeError, event_id, parse_envelope
from ingest.metrics import WEBHOOKS_RECEIVED, WEBHOOKS_REJECTED
from store.crypto import token_hash
from store.ledger import AsyncLedger
from worker.protocol import task_message

log = logging.getLogger("ingest.aircall")
REDACTED = "[redacted]"
_JSON_HEADERS = [(b"content-type", b"application/json")]
_REJECTED = {
    reason: WEBHOOKS_REJECTED.labels(reason)
    for reason in ("too_large", "bad_json", "bad_envelope", "unknown_token")
}


class BodyTooLarge(Exception):
    pass


async def read_limited(scope: Scope, receive: Receive, limit: int) -> bytes:
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise BodyTooLarge
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def respond(send: Send, status: int, doc: dict[str, Any]) -> None:
    body = orjson.dumps(doc)
    headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def reject(send: Send, status: int, reason: str, message: str) -> None:
    _REJECTED[reason].inc()
    log.info("ingest.aircall.rejected status=%d reason=%s", status, reason)
    await respond(send, status, {"error": message})


class AircallReceiver:
    """The ASGI app behind the route; `ledger` and limits come from the Starlette app state at call time."""

    def __init__(self, max_body: int):
        self.max_body = max_body
        self._received: dict[str, Any] = {}

    def _count(self, event: str) -> None:
        child = self._received.get(event)
        if child is None:
            child = self._received[event] = WEBHOOKS_RECEIVED.labels("aircall", event)
        child.inc()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ledger: AsyncLedger = scope["app"].state.ledger
        try:
            body = await read_limited(scope, receive, self.max_body)
        except BodyTooLarge:
            return await reject(send, 413, "too_large", f"body over {self.max_body} bytes")
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError:
            return await reject(send, 400, "bad_json", "body is not valid JSON")
        try:
            env = parse_envelope(doc)
        except EnvelopeError as exc:
            return await reject(send, 400, "bad_envelope", str(exc))

        tenant = token_hash(env.token)
        eid = event_id(tenant, env.event, env.data)
        task, queue = DIRECT_ROUTES.get(env.event, (ROUTE_TASK, QUEUE_DEFAULT))
        claim = await ledger.claim(
            token_hash=tenant,
            event_id=eid,
            source="aircall",
            event=env.event,
            resource_id=env.resource_id,
            received_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
            raw=body.decode().replace(env.token, REDACTED),
            task_message=task_message(task, [eid], queue) if env.routed else "",
            queue=queue,
            routed=env.routed,
            lifecycle=env.event in LIFECYCLE_EVENTS,
        )
        if claim.status == "unknown":
            return await reject(send, 401, "unknown_token", "unknown webhook token")
        self._count(env.event if env.routed else "other")
        if claim.status != "enqueued":
            log.info(
                "ingest.aircall.%s event=%s type=%s integration=%s",
                claim.status,
                eid,
                env.event,
                claim.integration_id,
            )
        await respond(send, 200, {"status": claim.status, "id": eid if env.routed else None})
