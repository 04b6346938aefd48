"""A stand-in OpenTelemetry collector: accepts OTLP/HTTP protobuf traces (`POST /v1/traces`) and keeps count.

For the tests of the exporter set-up and for `bench e2e` with tracing on (OTEL_EXPORTER_OTLP_ENDPOINT pointed
here): it decodes each export request as a collector would, counts the spans by service, keeps the last few
hundred (service, span name, trace id), and answers 200 with an empty ExportTraceServiceResponse.
"""

from __future__ import annotations

import gzip
import threading
import zlib
from collections import Counter, deque
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from starlette.types import Receive, Scope, Send

from sandbox.common import ServerThread

_EMPTY = ExportTraceServiceResponse().SerializeToString()


class OtlpSink:
    """The ASGI app; read `spans`, `by_service`, `seen`, `requests` and `bytes` (thread-safe counters)."""

    def __init__(self, keep_names: int = 500) -> None:
        """`keep_names`: how many of the last spans `seen` keeps."""
        self._lock = threading.Lock()
        self.requests = 0
        self.bytes = 0
        self.spans = 0
        self.by_service: Counter[str] = Counter()
        self.seen: deque[tuple[str, str, str]] = deque(maxlen=keep_names)  # (service, span name, trace id)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["method"] != "POST" or scope["path"] != "/v1/traces":
            return await _answer(send, 404, b"")
        encoding = dict(scope["headers"]).get(b"content-encoding", b"").decode()
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        self._count(request, len(body))
        await _answer(send, 200, _EMPTY)

    def _count(self, request: Any, size: int) -> None:
        with self._lock:
            self.requests += 1
            self.bytes += size
            for resource_spans in request.resource_spans:
                service = next(
                    (
                        a.value.string_value
                        for a in resource_spans.resource.attributes
                        if a.key == "service.name"
                    ),
                    "",
                )
                for scope_spans in resource_spans.scope_spans:
                    self.spans += len(scope_spans.spans)
                    self.by_service[service] += len(scope_spans.spans)
                    self.seen.extend((service, s.name, s.trace_id.hex()) for s in scope_spans.spans)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "bytes": self.bytes,
                "spans": self.spans,
                "by_service": dict(self.by_service),
            }


async def _answer(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/x-protobuf"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def serve() -> tuple[OtlpSink, ServerThread]:
    """A sink on a free loopback port, in a thread: (sink, server); `server.url` is the OTLP endpoint."""
    sink = OtlpSink()
    return sink, ServerThread(sink).start()
