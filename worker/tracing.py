"""The Celery side of the traces (config/tracing.py): every task runs in a span that continues the trace its
message carries (`traceparent`, written by store/messages.py), and what beat sends starts a trace of its own.

The pool runs many tasks at once, one per thread (128 in the Procfile): a task's span is made current in its
own thread's context when it starts (`task_prerun`) and ended there when it finishes (`task_postrun`), from a
per-thread stack. Imported by worker/app.py; each receiver checks `tracing.enabled()` first, and with tracing
off that check is all it does.
"""

from __future__ import annotations

import threading
import time
from contextvars import Token
from typing import Any

from celery.signals import beat_init, before_task_publish, task_postrun, task_prerun, worker_init
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from config import tracing
from store.messages import SENT_AT_HEADER
from worker.retry import Deferred

_local = threading.local()


def _stack() -> list[tuple[Span, Token[Context]]]:
    stack: list[tuple[Span, Token[Context]]] | None = getattr(_local, "spans", None)
    if stack is None:
        stack = _local.spans = []
    return stack


@task_prerun.connect
def _task_started(task_id: str | None = None, task: Any = None, args: Any = None, **_: Any) -> None:
    if not tracing.enabled() or task is None:
        return
    request = task.request
    parent = tracing.extract(request.get)
    attributes: dict[str, Any] = {
        "messaging.system": "celery",
        "messaging.operation.type": "process",
        "messaging.message.id": task_id or "",
        "messaging.destination.name": (request.delivery_info or {}).get("routing_key") or "",
        "aj.retries": int(request.retries or 0),
    }
    sent_at = request.get(SENT_AT_HEADER)
    if isinstance(sent_at, int | float):
        # From when the message was ready (a deferred retry: its due time) to now; clocks of two machines.
        attributes["aj.queue_wait_ms"] = round(max(0.0, time.time() - sent_at) * 1000, 1)
    first = args[0] if args else None
    if isinstance(first, str) and first.startswith("ev_"):
        attributes[tracing.EVENT_ID] = first
    elif isinstance(first, str) and first.startswith("int_"):
        attributes[tracing.INTEGRATION_ID] = first
    span = tracing.tracer().start_span(
        task.name, context=parent, kind=SpanKind.CONSUMER, attributes=attributes
    )
    token = otel_context.attach(trace.set_span_in_context(span, parent))
    _stack().append((span, token))


@task_postrun.connect
def _task_finished(state: str | None = None, retval: Any = None, **_: Any) -> None:
    stack = getattr(_local, "spans", None)
    if not stack:
        return
    span, token = stack.pop()
    outcome = (state or "unknown").lower()
    if outcome == "success" and retval == "skipped":
        outcome = "skipped"
    elif outcome == "ignored" and isinstance(retval, Deferred):
        outcome = "retry"
    elif outcome == "failure":
        span.set_status(Status(StatusCode.ERROR, type(retval).__name__))  # the type, never the text
    span.set_attribute("aj.outcome", outcome)
    span.end()
    otel_context.detach(token)


@before_task_publish.connect
def _sending(sender: str | None = None, headers: dict[str, Any] | None = None, **_: Any) -> None:
    # Celery's own publishes: beat's jobs (a trace starts here) and any apply_async inside a task.
    if not tracing.enabled() or headers is None:
        return
    with tracing.span(f"send {sender}", {"messaging.system": "celery"}, kind=SpanKind.PRODUCER):
        tracing.inject(headers)


@worker_init.connect
def _worker_configure(sender: Any = None, **_: Any) -> None:
    try:
        queues = set(sender.app.amqp.queues.consume_from or ())
    except AttributeError:
        queues = set()
    tracing.configure("cards" if queues == {"cards"} else "worker")


@beat_init.connect
def _beat_configure(**_: Any) -> None:
    tracing.configure("beat")
