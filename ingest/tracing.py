"""The ingest's side of the traces (config/tracing.py): a server span per webhook, current while its task
message is built (store/messages.py writes its `traceparent`, so the task continues this trace), with the
claim as a child span and the event's ids as attributes. Reached only when `tracing.enabled()`."""

from __future__ import annotations

from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from config import tracing
from store.ledger import AsyncLedger, Claim, Inbound
from store.replication import ReplicatedLedger


async def traced_webhook(receiver: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    path = scope["path"]
    attributes = {"http.request.method": "POST", "http.route": path, "url.path": path}
    with tracing.span(f"POST {path}", attributes, kind=SpanKind.SERVER) as span:

        async def answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                span.set_attribute("http.response.status_code", message["status"])
                if message["status"] >= 500:
                    span.set_status(Status(StatusCode.ERROR, f"HTTP {message['status']}"))
            await send(message)

        await receiver(scope, receive, answer)


async def traced_claim(ledger: AsyncLedger | ReplicatedLedger, inbound: Inbound) -> Claim:
    """The claim in its own span; the event's ids and the claim's answer on the webhook's span."""
    ids = tracing.ids(event_id=inbound.event_id, resource_id=inbound.resource_id[:80])
    attributes = {**ids, "aj.source": inbound.source, "aj.event": inbound.event[:80]}
    tracing.note(attributes)
    with tracing.span("ingest.claim", attributes):
        claim = await ledger.claim(inbound)
    tracing.note({**tracing.ids(integration_id=claim.integration_id), "aj.claim": claim.status})
    return claim
