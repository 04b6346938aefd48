"""POST /webhooks/aircall: size check → parse → envelope → tenant by token → claim + enqueue → 200.

One Redis round trip per webhook (store.ledger.CLAIM_LUA). Answers: 200 accepted / duplicate / ignored /
skipped, 400 bad JSON or envelope, 401 unknown token, 413 body over the limit. The token is redacted from
the stored raw event and never logged.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from config.celery import QUEUE_DEFAULT, ROUTE_TASK
from domain.envelope import LIFECYCLE_EVENTS, EnvelopeError, event_id, parse_envelope
from ingest.metrics import WEBHOOKS_RECEIVED, WEBHOOKS_REJECTED
from store.crypto import token_hash
from store.ledger import AsyncLedger
from worker.protocol import task_message

log = logging.getLogger("ingest.aircall")
REDACTED = "[redacted]"


class BodyTooLarge(Exception):
    pass


async def read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def reject(status: int, reason: str, message: str) -> Response:
    WEBHOOKS_REJECTED.labels(reason).inc()
    log.info("ingest.aircall.rejected status=%d reason=%s", status, reason)
    return JSONResponse({"error": message}, status_code=status)


async def receive(request: Request) -> Response:
    ledger: AsyncLedger = request.app.state.ledger
    try:
        body = await read_limited(request, request.app.state.max_body)
    except BodyTooLarge:
        return reject(413, "too_large", f"body over {request.app.state.max_body} bytes")
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return reject(400, "bad_json", "body is not valid JSON")
    try:
        env = parse_envelope(doc)
    except EnvelopeError as exc:
        return reject(400, "bad_envelope", str(exc))

    tenant = token_hash(env.token)
    eid = event_id(tenant, env.event, env.data)
    claim = await ledger.claim(
        token_hash=tenant,
        event_id=eid,
        source="aircall",
        event=env.event,
        resource_id=env.resource_id,
        received_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
        raw=body.decode().replace(env.token, REDACTED),
        task_message=task_message(ROUTE_TASK, [eid], QUEUE_DEFAULT) if env.routed else "",
        queue=QUEUE_DEFAULT,
        routed=env.routed,
        lifecycle=env.event in LIFECYCLE_EVENTS,
    )
    if claim.status == "unknown":
        return reject(401, "unknown_token", "unknown webhook token")
    WEBHOOKS_RECEIVED.labels("aircall", env.event if env.routed else "other").inc()
    if claim.status != "enqueued":
        log.info(
            "ingest.aircall.%s event=%s type=%s integration=%s",
            claim.status,
            eid,
            env.event,
            claim.integration_id,
        )
    return JSONResponse({"status": claim.status, "id": eid if env.routed else None})
