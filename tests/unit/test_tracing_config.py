"""Tracing's set-up (config/tracing.py): off unless OTEL_EXPORTER_OTLP_ENDPOINT is set, and then a batch
processor exporting OTLP/HTTP to `<endpoint>/v1/traces`, one service name per role, the trace context in task
messages only while on."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from types import SimpleNamespace

import orjson
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from config import tracing
from store.messages import task_message
from tests.support.poll import until


@pytest.fixture
def restored(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Whatever a test turns on is off after it; OpenTelemetry's global provider is left alone (it can be set
    once per process). Yields the providers configure() made."""
    made: list[object] = []
    monkeypatch.setattr(trace, "set_tracer_provider", made.append)
    for name in ("OTEL_SERVICE_NAME", "OTEL_SDK_DISABLED", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    yield made
    tracing.uninstall()
    for provider in made:
        provider.shutdown()


@pytest.fixture
def in_memory() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    yield exporter
    tracing.uninstall()
    provider.shutdown()


def headers_of(message: str) -> dict[str, object]:
    return dict(orjson.loads(message)["headers"])


def test_without_an_endpoint_tracing_stays_off_and_messages_carry_no_trace(restored):
    assert tracing.configure("worker", endpoint="") is False
    assert not tracing.enabled()
    assert restored == []
    assert "traceparent" not in headers_of(task_message("calls.log_activity", ["ev_1"], "jobber"))
    assert tracing.traceparent() == ""
    assert tracing.current_ids() is None


def test_with_an_endpoint_a_batch_processor_exports_otlp_http_under_the_roles_service_name(restored):
    from sandbox.otlp_sink import serve

    sink, server = serve()
    try:
        assert tracing.configure("cards", endpoint=server.url + "/")
        assert tracing.enabled()
        (provider,) = restored
        assert provider.resource.attributes["service.name"] == "aircall-jobber-cards"
        assert provider.resource.attributes["service.namespace"] == "aircall-jobber"
        with tracing.span("unit.check"):
            pass
        provider.force_flush()
        until(lambda: sink.spans == 1, what="the span at the sink")
        assert sink.by_service == {"aircall-jobber-cards": 1}
        assert [name for _, name, _ in sink.seen] == ["unit.check"]
    finally:
        server.stop()


def test_otel_service_name_overrides_the_roles_name_and_otel_sdk_disabled_keeps_it_off(restored, monkeypatch):
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert tracing.configure("worker", endpoint="http://127.0.0.1:9") is False
    monkeypatch.delenv("OTEL_SDK_DISABLED")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "jobber-sync-eu")
    assert tracing.configure("worker", endpoint="http://127.0.0.1:9")
    (provider,) = restored
    assert provider.resource.attributes["service.name"] == "jobber-sync-eu"


def test_a_worker_on_the_cards_queue_alone_is_the_cards_role(monkeypatch):
    from worker import tracing as worker_tracing

    roles: list[str] = []
    monkeypatch.setattr(tracing, "configure", lambda role, endpoint=None: roles.append(role) or False)

    def worker_on(*queues: str) -> object:
        return SimpleNamespace(
            app=SimpleNamespace(
                amqp=SimpleNamespace(queues=SimpleNamespace(consume_from=dict.fromkeys(queues)))
            )
        )

    worker_tracing._worker_configure(sender=worker_on("cards"))
    worker_tracing._worker_configure(sender=worker_on("cards", "default", "jobber", "aircall", "sync"))
    worker_tracing._beat_configure(sender=None)
    assert roles == ["cards", "worker", "beat"]


def test_a_message_built_inside_a_span_carries_its_context(in_memory):
    with tracing.span("ingest.webhook") as span:
        headers = headers_of(task_message("calls.log_activity", ["ev_1"], "jobber"))
    context = span.get_span_context()
    assert str(headers["traceparent"]).startswith(f"00-{context.trace_id:032x}-{context.span_id:016x}-")
    # A replayed dead letter's own trace wins over whatever is current.
    replayed = headers_of(task_message("calls.log_activity", ["ev_1"], "jobber", traceparent="00-ab-cd-01"))
    assert replayed["traceparent"] == "00-ab-cd-01"


def test_a_failure_inside_a_span_is_named_by_its_type_never_its_text(in_memory):
    with pytest.raises(ValueError), tracing.span("flow x"):
        raise ValueError("no Jobber client has +14155550100")
    (span,) = in_memory.get_finished_spans()
    assert span.status.description == "ValueError"
    assert span.events == ()


def test_log_lines_inside_a_span_name_its_trace(in_memory):
    from config import logging as log_config

    root = logging.getLogger()
    before = [h for h in root.handlers if isinstance(h, log_config._Handler)]
    stream = io.StringIO()
    log_config.configure(fmt="json", stream=stream)
    try:
        with tracing.span("flow x") as span:
            logging.getLogger("tasks.test").info("tasks.test.inside")
        logging.getLogger("tasks.test").info("tasks.test.outside")
    finally:
        for handler in [h for h in root.handlers if isinstance(h, log_config._Handler)]:
            root.removeHandler(handler)
        for handler in before:
            root.addHandler(handler)
    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["trace_id"] == f"{span.get_span_context().trace_id:032x}"
    assert "trace_id" not in outside


@pytest.mark.parametrize(
    ("document", "operation"),
    [
        (
            "query FindByPhone($t0: String!) { s0: clientPhones(searchTerm: $t0) { ...PhoneHits } }\n"
            "fragment PhoneHits on X { nodes { number } }",
            ("query", "FindByPhone"),
        ),
        (
            "\nmutation LogOnClient($clientId: EncodedId!) { clientCreateNote { note { id } } }",
            ("mutation", "LogOnClient"),
        ),
        ("{ account { id } }", None),
        (None, None),
    ],
)
def test_the_graphql_operation_is_read_from_the_document(document, operation):
    assert tracing.graphql_operation(document) == operation
