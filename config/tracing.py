"""OpenTelemetry traces (SPEC §2 `OTEL_EXPORTER_OTLP_ENDPOINT`):
on only when that endpoint is set, off otherwise.

One trace per event: the ingest's webhook span (with its claim) → the task (its queue wait an attribute),
across every retry parked in Redis → the flow → every vendor request. The context travels as W3C
`traceparent` / `tracestate` headers of the task message (store/messages.py). Spans carry ids (event,
integration, resource = call or message id), names of tasks and operations, HTTP methods, hosts, paths and
statuses: never a token, a header, a body, a query string, a phone number, a name or an error message
(errors are named by type only).

Everything reads `enabled()` first: off, no provider exists, no span object is made and no header is written
(the SDK and the exporter are not even imported). The state is this module's, not OpenTelemetry's global
provider (which can be set once per process), so the tests swap an in-memory exporter in and out (`install`,
`uninstall`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from config.settings import get_settings

# service.name of each role (OTEL_SERVICE_NAME, when set, wins); all share service.namespace.
SERVICE_NAMESPACE = "aircall-jobber"
SERVICE_NAMES = {
    "ingest": "aircall-jobber-ingest",
    "worker": "aircall-jobber-worker",
    "cards": "aircall-jobber-cards",
    "beat": "aircall-jobber-beat",
}
# Attribute names of the ids, named like the log lines' fields (config/logging.py bind_ids).
EVENT_ID = "aj.event_id"
INTEGRATION_ID = "aj.integration_id"
RESOURCE_ID = "aj.resource_id"
# W3C Trace Context only: the message format is ours, so OTEL_PROPAGATORS (and baggage, which could carry
# anything) does not apply to it.
TRACE_HEADERS = ("traceparent", "tracestate")
_PROPAGATOR = TraceContextTextMapPropagator()


class _State:
    tracer: Tracer | None = None
    provider: TracerProvider | None = None


_state = _State()


def enabled() -> bool:
    """Tracing is on in this process: the one check every hot path makes before anything else."""
    return _state.tracer is not None


def tracer() -> Tracer:
    if _state.tracer is None:
        raise RuntimeError("tracing is off (config.tracing.enabled() first)")
    return _state.tracer


def install(provider: TracerProvider) -> None:
    """Trace through `provider` from now on (configure() in production; the tests' in-memory one)."""
    _state.provider = provider
    _state.tracer = provider.get_tracer("aircall-jobber")


def uninstall() -> None:
    """Back to off (the tests restore it); the provider is the caller's to shut down."""
    _state.tracer = None
    _state.provider = None


def configure(role: str, endpoint: str | None = None) -> bool:
    """Turn tracing on for this process when an OTLP endpoint is set (`endpoint`, else the settings); returns
    whether it is on. A TracerProvider with a BatchSpanProcessor (OTEL_BSP_* honoured) and the OTLP/HTTP
    exporter (OTEL_EXPORTER_OTLP_* honoured: headers, timeout, compression, certificates); the sampler from
    OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG (default: parent-based, always on); the resource from
    OTEL_RESOURCE_ATTRIBUTES, with service.name per role unless OTEL_SERVICE_NAME is set.
    OTEL_SDK_DISABLED=true keeps it off. Idempotent."""
    if _state.tracer is not None:
        return True
    if endpoint is None:
        endpoint = get_settings().OTEL_EXPORTER_OTLP_ENDPOINT
    if not endpoint or os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    # Imported only when on: a process with tracing off never loads the SDK or the exporter.
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    attributes = {"service.namespace": SERVICE_NAMESPACE, "aj.role": role}
    if not os.environ.get("OTEL_SERVICE_NAME"):
        attributes["service.name"] = SERVICE_NAMES.get(role, f"aircall-jobber-{role}")
    provider = SdkTracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(BatchSpanProcessor(_exporter(endpoint)))
    trace.set_tracer_provider(provider)  # also for any library that traces through the global API
    install(provider)
    return True


def _exporter(endpoint: str) -> Any:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    if os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return (
            OTLPSpanExporter()
        )  # the SDK derives <endpoint>/v1/traces (or takes the traces endpoint) itself
    # Set in .env only (read by the settings, not by the SDK): the same derivation.
    return OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")


def inject(headers: MutableMapping[str, Any]) -> None:
    """The current span's context into `headers` as `traceparent` (and `tracestate`); nothing without one."""
    _PROPAGATOR.inject(headers)


def traceparent() -> str:
    """The current span's `traceparent` ("" when off or outside a span):
    kept with a dead letter for its replay."""
    if _state.tracer is None:
        return ""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent", "")


def extract(get: Callable[[str], object]) -> Context:
    """The context a message's trace headers carry (`get(name)` reads one); an empty context without them."""
    carrier = {}
    for name in TRACE_HEADERS:
        value = get(name)
        if isinstance(value, str) and value:
            carrier[name] = value
    return _PROPAGATOR.extract(carrier)


def ids(
    event_id: str | None = None, integration_id: str | None = None, resource_id: str | None = None
) -> dict[str, str]:
    """The id attributes that are known (empty ones left out)."""
    found = {EVENT_ID: event_id, INTEGRATION_ID: integration_id, RESOURCE_ID: resource_id}
    return {name: str(value) for name, value in found.items() if value}


def note(attributes: Mapping[str, str | int | float | bool]) -> None:
    """Set attributes on the current span (nothing when tracing is off or no span is current)."""
    if _state.tracer is not None:
        trace.get_current_span().set_attributes(attributes)


def failed(what: str) -> None:
    """Mark the current span failed; `what` is a fixed description or an error type, never an error's text."""
    if _state.tracer is not None:
        trace.get_current_span().set_status(Status(StatusCode.ERROR, what))


@contextmanager
def span(
    name: str,
    attributes: Mapping[str, str | int | float | bool] | None = None,
    kind: SpanKind = SpanKind.INTERNAL,
) -> Iterator[Span]:
    """A span, current inside the block; an exception marks it failed by its type only (its text may hold
    personal data) and is not recorded. Call only when enabled()."""
    with tracer().start_as_current_span(
        name, kind=kind, attributes=attributes, record_exception=False, set_status_on_exception=False
    ) as current:
        try:
            yield current
        except BaseException as exc:
            current.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise


def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) of the current span in hex, for log lines; None when off or outside a span."""
    if _state.tracer is None:
        return None
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"


_OPERATION = re.compile(r"\b(query|mutation)\s+(\w+)")


def graphql_operation(document: object) -> tuple[str, str] | None:
    """(type, name) of a GraphQL document's first named operation: code-defined names (`FindByPhone`), never
    its variables."""
    if not isinstance(document, str):
        return None
    found = _OPERATION.search(document)
    return (found.group(1), found.group(2)) if found else None
