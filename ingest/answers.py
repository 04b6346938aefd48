"""Every answer of the webhook receivers, counted by HTTP status: `aj_webhook_responses_total{source,code}`.

Counted where the answer leaves (the `send` the receiver is given), so no path is missed: 200s, each 4xx, the
429s of the tenant limits, the 503s when Redis is unreachable or no replica confirmed, and a 500 when a
receiver crashes before answering (uvicorn then answers 500 itself). One more answer never reaches the app:
uvicorn's own 503 when the process is at its `--limit-concurrency` (Procfile, INGEST_MAX_CONCURRENCY); its
`service_unavailable` app is wrapped so those count too (tests/flows/test_webhook_answers.py holds uvicorn to
that name).
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ingest.metrics import WEBHOOK_ANSWERS

log = logging.getLogger("ingest")

# Webhook path -> source label, for uvicorn's 503s (they come before any routing).
WEBHOOK_SOURCES: dict[str, str] = {}
_wrappers: set[Any] = set()
_UVICORN_PROTOCOLS = ("uvicorn.protocols.http.httptools_impl", "uvicorn.protocols.http.h11_impl")


def count(source: str, status: int) -> None:
    """One more answer (only ever called on the event loop's thread)."""
    key = (source, status)
    WEBHOOK_ANSWERS[key] = WEBHOOK_ANSWERS.get(key, 0) + 1


class Counted:
    """A webhook receiver whose answers are counted under `source` (about 1 µs a webhook)."""

    __slots__ = ("receiver", "source")

    def __init__(self, source: str, receiver: ASGIApp):
        self.source = source
        self.receiver = receiver

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        status = 0

        async def counted_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.receiver(scope, receive, counted_send)
        except Exception:
            count(self.source, status or 500)  # not answered yet: uvicorn answers 500 and logs the error
            raise
        if status:  # 0: the sender hung up before its body was complete, nobody to answer
            count(self.source, status)


def count_overload_answers(sources: dict[str, str]) -> bool:
    """Count uvicorn's own 503s (at `--limit-concurrency`) to webhook paths (`sources`: path -> source).
    Returns whether uvicorn's `service_unavailable` was found to wrap."""
    WEBHOOK_SOURCES.update(sources)
    wrapped = False
    for name in _UVICORN_PROTOCOLS:
        try:
            module = importlib.import_module(name)
        except ImportError:  # httptools not installed: uvicorn uses h11
            continue
        original = getattr(module, "service_unavailable", None)
        if original is None:
            continue
        if original not in _wrappers:
            vars(module)["service_unavailable"] = _counting(original)  # looked up by name at each request
        wrapped = True
    if not wrapped:
        log.warning("ingest.overload_answers_not_counted: uvicorn has no service_unavailable to wrap")
    return wrapped


def _counting(original: Any) -> Any:
    async def service_unavailable(scope: Scope, receive: Receive, send: Send) -> None:
        source = WEBHOOK_SOURCES.get(scope.get("path", "")) if scope.get("method") == "POST" else None
        if source is not None:
            count(source, 503)
        await original(scope, receive, send)

    _wrappers.add(service_unavailable)
    return service_unavailable
