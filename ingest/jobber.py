"""POST /webhooks/jobber: HMAC over the raw body → parse → tenant by Jobber account → claim + enqueue → 200.

Jobber wants an answer within 1 s and sends only ids (jobber-api.md §4), so the receiver does
no vendor call: the flows refetch. Answers: 200 accepted / duplicate / ignored (unrouted topic
or unknown account), 401 bad or missing signature, 400 bad JSON or payload, 413 body over the
limit. Never 429: Jobber's webhooks are configured per app, not per account, and Jobber may
disable the app's webhooks when many deliveries fail (jobber-api.md §4), which would hurt every
tenant; their bodies are a few hundred bytes of ids, signed by Jobber, so the tenant limits
(store.ledger.TenantLimits) count them in a tenant's pending bytes but never refuse them.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import orjson
from starlette.types import Receive, Scope, Send

from config.queues import Task, queue_for
from domain.envelope import LIFECYCLE_EVENTS
from domain.jobber_webhooks import WebhookError, parse_webhook, signature_ok
from flows.routes import task_for_event
from ingest.asgi import (
    BodyIncomplete,
    BodyTooLarge,
    abandon,
    claim_or_503,
    count_received,
    header,
    read_limited,
    reject,
    respond,
)
from store import keys
from store.ledger import AsyncLedger, Inbound
from store.messages import task_message

log = logging.getLogger(__name__)


class JobberReceiver:
    def __init__(self, max_body: int, client_secret: str | None):
        self.max_body = max_body
        self.client_secret = client_secret or ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ledger: AsyncLedger = scope["app"].state.ledger
        try:
            body = await read_limited(scope, receive, self.max_body)
        except BodyTooLarge:
            return await reject(send, "jobber", 413, "too_large", f"body over {self.max_body} bytes")
        except BodyIncomplete:
            return abandon("jobber")
        # Verify before parsing: the signature covers the raw bytes (jobber-api.md §4.4).
        if not signature_ok(body, header(scope, b"x-jobber-hmac-sha256"), self.client_secret):
            return await reject(
                send, "jobber", 401, "bad_signature", "missing or invalid X-Jobber-Hmac-SHA256"
            )
        try:
            event = parse_webhook(orjson.loads(body))
        except orjson.JSONDecodeError:
            return await reject(send, "jobber", 400, "bad_json", "body is not valid JSON")
        except WebhookError as exc:
            return await reject(send, "jobber", 400, "bad_envelope", str(exc))

        eid = event.event_id()
        task = task_for_event(event.event) or Task.ROUTE  # straight to its flow
        queue = queue_for(task)
        inbound = Inbound(
            source="jobber",
            tenant_key=event.account_id,
            tenant_index=keys.JOBBER_ACCOUNTS,
            event_id=eid,
            event=event.event,
            resource_id=event.item_id,
            received_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
            raw=body.decode(),
            task_message=task_message(task, [eid], queue) if event.routed else "",
            queue=queue,
            routed=event.routed,
            lifecycle=event.event in LIFECYCLE_EVENTS,
        )
        claim = await claim_or_503(ledger, send, inbound)
        if claim is None:
            return None
        count_received("jobber", event.label)
        if claim.status == "unknown":
            # Signed by Jobber, for an account no integration holds (deleted, or never connected): nothing to
            # do, and an error would only make Jobber retry or disable the app's webhooks.
            log.info("ingest.jobber.unknown_account topic=%s", event.topic)
            return await respond(send, 200, {"status": "ignored", "id": None})
        if claim.status != "enqueued":
            log.info(
                "ingest.jobber.%s event=%s topic=%s integration=%s",
                claim.status,
                eid,
                event.topic,
                claim.integration_id,
            )
        await respond(send, 200, {"status": claim.status, "id": eid if event.routed else None})
