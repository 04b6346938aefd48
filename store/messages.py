"""Celery task messages built by hand: the wire format of every queue (store/queues.py).

It lives with the queues rather than the ingest because everything that enqueues uses it: the ingest's
claims (store/ledger.py), follow-up work (`store.queues.enqueue`) and deferred retries (worker/retry.py).

The ingest must store an event and enqueue its task in one atomic Redis call (store.ledger.CLAIM_LUA), so
it cannot go through `task.delay()`. This module produces the exact JSON that kombu's Redis transport
LPUSHes for a Celery protocol-2 message (kombu/transport/virtual/base.py `prepare_message`,
`_inplace_augment_message`; celery/app/amqp.py `as_task_v2`), published to the default exchange ("") with
the queue name as routing key. tests/flows/test_ingest_to_worker.py proves a real worker consumes it.

Every message, hand-built here or published by Celery, carries its publish time in the `aj_sent_at` header
(UNIX seconds): neither Celery nor kombu stamps one, and /metrics reads the oldest message of each queue to
export how long the backlog has waited (ingest/metrics.py); worker/sent_at.py stamps Celery's publishes.

With tracing on (config/tracing.py), a message also carries the W3C `traceparent` (and `tracestate`) of the
span current where it is built: the ingest's webhook span, the task that defers its own retry or starts
follow-up work. The worker continues that trace (worker/tracing.py). Off, no trace header is written.
"""

from __future__ import annotations

import base64
import os
import re
import socket
import time
from typing import Any

import orjson

from config import tracing

SENT_AT_HEADER = "aj_sent_at"

_ORIGIN = f"ingest.{os.getpid()}@{socket.gethostname()}"
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def random_uuids() -> tuple[str, str]:
    """Two random (version 4) UUIDs, spelled as str(uuid.uuid4()) spells them, from one read of the OS's
    random source: a message needs two (its task id and its delivery tag), and uuid.uuid4() twice was a
    twentieth of the ingest's CPU per webhook."""
    h = os.urandom(32).hex()
    return (
        f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}",
        f"{h[32:40]}-{h[40:44]}-4{h[45:48]}-{_VARIANT[h[48]]}{h[49:52]}-{h[52:64]}",
    )


_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


def task_message(
    task_name: str,
    args: list[Any],
    queue: str,
    task_id: str | None = None,
    *,
    kwargs: dict[str, Any] | None = None,
    tenant: str = "",
    retries: int = 0,
    root_id: str | None = None,
    sent_at: float | None = None,
    traceparent: str | None = None,
) -> str:
    """One message for `task_name(*args, **kwargs)` on `queue`. `tenant` rides along as the `aj_tenant`
    header (the fair queues put a retry back in its tenant's lane); `retries` counts earlier attempts;
    `sent_at` (default now) is when the message is ready to run: a deferred retry's due time; `traceparent`:
    the trace to continue (a replayed dead letter's), else the current span's when tracing is on."""
    new_id, delivery_tag = random_uuids()
    task_id = task_id or new_id
    kwargs = kwargs or {}
    body = orjson.dumps([args, kwargs, _EMBED])
    headers: dict[str, Any] = {
        "lang": "py",
        "task": task_name,
        "id": task_id,
        "shadow": None,
        "eta": None,
        "expires": None,
        "group": None,
        "group_index": None,
        "retries": retries,
        "timelimit": [None, None],
        "root_id": root_id or task_id,
        "parent_id": None,
        "argsrepr": repr(args),
        "kwargsrepr": repr(kwargs),
        "origin": _ORIGIN,
        "ignore_result": True,
        "aj_tenant": tenant,
        SENT_AT_HEADER: time.time() if sent_at is None else sent_at,
    }
    if traceparent:
        headers["traceparent"] = traceparent
    elif tracing.enabled():
        tracing.inject(headers)
    message = {
        "body": base64.b64encode(body).decode(),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": headers,
        "properties": {
            "correlation_id": task_id,
            "reply_to": "",
            "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": queue},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": delivery_tag,
        },
    }
    return orjson.dumps(message).decode()


# A task that works for one event takes its id first (`["ev_…", …]`).
_EVENT_ARG = re.compile(r"^\['(ev_[A-Za-z0-9_]+)'")


def event_of(message: str) -> str | None:
    """The event a task message works for (its first argument, when that is an event id), else None."""
    try:
        argsrepr = orjson.loads(message)["headers"]["argsrepr"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    found = _EVENT_ARG.match(argsrepr) if isinstance(argsrepr, str) else None
    return found.group(1) if found else None
