"""Traces from webhook to note (issue 17): with tracing on, one `call.ended` is one connected trace, ingest →
task → flow → Jobber requests, that keeps its trace across a retry parked in Redis and a dead-letter replay,
and carries ids but never a token, a number, a name or a query string.

The suite's ingest and worker run in this process: the SDK's in-memory exporter is installed for one test
(config/tracing.py `install`) and tracing is off again after it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from config import tracing
from flows.replay import replay
from sandbox.scenarios import payloads as p
from store.dead_letters import DeadLetters
from store.ledger import Ledger
from tests.support.poll import until
from tests.support.tenants import make_tenant

pytestmark = pytest.mark.flow

LINE = p.number_object(789, e164="+14155550199", name="Support line")
AGENT = p.user_object(456, name="Madelaine Dupont", email="madelaine@acme.com")
CALLER = "+14155550100"
_ids = itertools.count(9_170_000_001)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on, into memory, for one test; off again after it (the rest of the suite runs without)."""
    assert not tracing.enabled()
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    yield exporter
    tracing.uninstall()
    provider.shutdown()


@pytest.fixture
def jobber(vendors) -> dict[str, Any]:
    account = requests.post(
        f"{vendors.jobber}/_sandbox/accounts", json={"name": "Acme Plumbing"}, timeout=5
    ).json()
    account["base"] = vendors.jobber
    requests.post(
        f"{vendors.jobber}/_sandbox/accounts/{account['account']['id']}/clients",
        json={
            "firstName": "Dana",
            "lastName": "Lopez",
            "phones": [{"number": CALLER, "description": "MAIN"}],
        },
        timeout=5,
    ).raise_for_status()
    return account


def call_ended(token: str, call_id: int) -> dict[str, Any]:
    events = p.inbound_answered_call(
        call_id,
        token=token,
        number=LINE,
        external=CALLER,
        agent=AGENT,
        started_at=1_790_000_000,
        comments=["call me back"],
        tags=["Quote"],
    )
    return next(e for e in events if e["event"] == "call.ended")


def post(ingest_url: str, event: dict[str, Any]) -> str:
    response = requests.post(f"{ingest_url}/webhooks/aircall", json=event, timeout=5)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def named(spans: list[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def parent_of(span: ReadableSpan, spans: list[ReadableSpan]) -> ReadableSpan | None:
    if span.parent is None:
        return None
    return next((s for s in spans if s.context.span_id == span.parent.span_id), None)


def ancestors(span: ReadableSpan, spans: list[ReadableSpan]) -> list[str]:
    chain, current = [], parent_of(span, spans)
    while current is not None:
        chain.append(current.name)
        current = parent_of(current, spans)
    return chain


def assert_nothing_personal(spans: list[ReadableSpan], secrets: list[str]) -> None:
    """No token, number, name, email, note text or query string in any span name,
    attribute, event or status."""
    for span in spans:
        texts = [span.name, span.status.description or ""]
        texts += [str(v) for v in (span.attributes or {}).values()]
        texts += [f"{e.name} {dict(e.attributes or {})}" for e in span.events]
        for text in texts:
            for secret in secrets:
                assert secret.lower() not in text.lower(), (span.name, text, secret)
            assert "?" not in text, (span.name, text)


def secrets_of(tenant, jobber) -> list[str]:
    from tests.support.tenants import AIRCALL_TOKEN

    return [
        tenant.webhook_token,
        jobber["access_token"],
        jobber["refresh_token"],
        AIRCALL_TOKEN,
        "Bearer",
        "4155550100",  # the caller, in any spelling that keeps its digits together
        "555-0100",
        "4155550199",  # the Aircall line
        "Dana",
        "Lopez",
        "Madelaine",
        "acme.com",
        "call me back",
        "Quote",
    ]


def test_one_call_ended_is_one_connected_trace_from_the_webhook_to_the_note(
    r, ingest_url, worker, jobber, spans
):
    tenant = make_tenant(jobber=jobber)
    call_id = next(_ids)

    event_id = post(ingest_url, call_ended(tenant.webhook_token, call_id))

    def finished() -> list[ReadableSpan]:
        done = list(spans.get_finished_spans())
        wanted = ("POST /webhooks/aircall", "calls.log_activity", "POST jobber LogOnClient")
        return done if all(named(done, n) for n in wanted) else []

    found = until(finished, timeout=30, what="the trace's spans")
    assert Ledger(r).get(event_id)["outcome"] == "done"

    # One trace, rooted at the ingest's webhook span.
    assert len({s.context.trace_id for s in found}) == 1, [(s.name, s.context.trace_id) for s in found]
    (webhook,) = named(found, "POST /webhooks/aircall")
    assert webhook.parent is None
    (claim,) = named(found, "ingest.claim")
    (task,) = named(found, "calls.log_activity")
    (flow,) = named(found, "flow calls.log_call")
    (search,) = named(found, "POST jobber FindByPhone")
    (note,) = named(found, "POST jobber LogOnClient")
    assert parent_of(claim, found) is webhook
    assert parent_of(task, found) is webhook
    assert parent_of(flow, found) is task
    assert ancestors(search, found)[-3:] == [
        "flow calls.log_call",
        "calls.log_activity",
        "POST /webhooks/aircall",
    ]
    assert ancestors(note, found)[-3:] == [
        "flow calls.log_call",
        "calls.log_activity",
        "POST /webhooks/aircall",
    ]
    assert search.start_time < note.start_time

    # The ids, where an operator looks for them.
    ids = {"aj.event_id": event_id, "aj.integration_id": tenant.id, "aj.resource_id": str(call_id)}
    for span in (webhook, flow):
        assert {k: (span.attributes or {}).get(k) for k in ids} == ids, span.name
    assert (task.attributes or {})["aj.event_id"] == event_id
    assert (task.attributes or {})["aj.queue_wait_ms"] >= 0
    assert (task.attributes or {})["aj.outcome"] == "success"
    assert (webhook.attributes or {})["http.response.status_code"] == 200
    assert (webhook.attributes or {})["aj.claim"] == "enqueued"
    for request in (search, note):
        attributes = request.attributes or {}
        assert attributes["http.response.status_code"] == 200
        assert attributes["url.path"] == "/api/graphql"
        assert attributes["server.address"] == "127.0.0.1"

    assert_nothing_personal(found, secrets_of(tenant, jobber))


def test_a_retried_event_keeps_its_trace_across_the_park_in_redis(r, ingest_url, worker, jobber, spans):
    tenant = make_tenant(jobber=jobber)
    base = jobber["base"]
    # Given Jobber answers the first request 503 (the worker parks the task in Redis, aj:due, until it is due)
    requests.post(
        f"{base}/_sandbox/faults", json={"reset": True, "fail_next": 1, "error_status": 503}, timeout=5
    ).raise_for_status()
    try:
        event_id = post(ingest_url, call_ended(tenant.webhook_token, next(_ids)))
        # The retry's task span ends last (after its note and the event's outcome).
        until(
            lambda: len(named(spans.get_finished_spans(), "calls.log_activity")) == 2,
            timeout=30,
            what="the retry's task span",
        )
    finally:
        requests.post(f"{base}/_sandbox/faults", json={"reset": True}, timeout=5)

    found = list(spans.get_finished_spans())
    assert Ledger(r).get(event_id)["outcome"] == "done"
    first, second = sorted(named(found, "calls.log_activity"), key=lambda s: s.start_time)
    assert (first.attributes or {})["aj.outcome"] == "retry"
    assert (first.attributes or {})["aj.retry_in_s"] > 0
    assert (second.attributes or {})["aj.outcome"] == "success"
    assert (second.attributes or {})["aj.retries"] == 1
    # The retry continues the same trace, as a child of the attempt that deferred it.
    assert len({s.context.trace_id for s in found}) == 1
    assert parent_of(second, found) is first
    failed_request = next(s for s in found if (s.attributes or {}).get("http.response.status_code") == 503)
    assert failed_request.context.trace_id == first.context.trace_id
    assert_nothing_personal(found, secrets_of(tenant, jobber))


def test_a_replayed_dead_letter_continues_its_events_trace(
    r, ingest_url, worker, jobber, spans, settings_env
):
    tenant = make_tenant(jobber=jobber)
    base = jobber["base"]
    # Given Jobber refuses the note for good (a permanent error dead-letters the event at once)
    settings_env.setenv("RETRY_MAX_ATTEMPTS", "1")
    requests.post(
        f"{base}/_sandbox/faults", json={"reset": True, "fail_next": 1, "error_status": 503}, timeout=5
    ).raise_for_status()
    try:
        event_id = post(ingest_url, call_ended(tenant.webhook_token, next(_ids)))
        until(lambda: DeadLetters(r).get(event_id), timeout=30, what="the dead letter")
    finally:
        requests.post(f"{base}/_sandbox/faults", json={"reset": True}, timeout=5)
    until(lambda: named(spans.get_finished_spans(), "calls.log_activity"), what="the failed attempt's span")
    (failed,) = named(spans.get_finished_spans(), "calls.log_activity")
    assert failed.status.description == "dead_lettered"

    # When an operator replays it
    assert replay(event_id)
    until(lambda: Ledger(r).get(event_id)["outcome"] == "done", timeout=30, what="the replay")
    until(lambda: len(named(spans.get_finished_spans(), "calls.log_activity")) == 2, what="the replay's span")

    # Then the replay's task is part of the event's trace
    found = list(spans.get_finished_spans())
    replayed = max(named(found, "calls.log_activity"), key=lambda s: s.start_time)
    assert replayed.context.trace_id == failed.context.trace_id
    assert parent_of(replayed, found) is failed
    assert_nothing_personal(found, secrets_of(tenant, jobber))


@pytest.mark.slow
def test_the_ingest_and_worker_processes_export_one_trace_per_call_over_otlp(vendors):
    """The roles as the Procfile starts them, with OTEL_EXPORTER_OTLP_ENDPOINT set: each exports under its own
    service name, and the call's spans from both processes share one trace id."""
    import redis

    from config.integration import IntegrationSettings
    from sandbox.fleet import SECRET, Fleet
    from sandbox.otlp_sink import serve
    from store.integrations import IntegrationStore, JobberAccount

    sink, collector = serve()
    fleet = Fleet()
    fleet.env |= {
        "JOBBER_API_URL": f"{vendors.jobber}/api/graphql",
        "JOBBER_OAUTH_URL": f"{vendors.jobber}/api/oauth",
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    try:
        ingest_url = fleet.ingest()
        fleet.worker(concurrency=4)
        account = requests.post(
            f"{vendors.jobber}/_sandbox/accounts", json={"name": "Acme"}, timeout=5
        ).json()
        requests.post(
            f"{vendors.jobber}/_sandbox/accounts/{account['account']['id']}/clients",
            json={"firstName": "Dana", "lastName": "Lopez", "phones": [{"number": CALLER}]},
            timeout=5,
        ).raise_for_status()
        store = IntegrationStore(redis.Redis.from_url(fleet.redis.url, decode_responses=True), SECRET)
        integration = store.create(
            aircall_api_id="a",
            aircall_token="t",
            aircall_auth="basic",
            aircall_company_id="c",
            settings=IntegrationSettings(numbers=[789]),
        )
        store.bind_webhook(integration.id, "w", "fleet-token")
        store.set_jobber_tokens(integration.id, account["access_token"], account["refresh_token"])
        store.connect_jobber_account(integration.id, JobberAccount(account["account"]["id"], "Acme"))

        post(ingest_url, call_ended("fleet-token", next(_ids)))

        expected = {
            ("aircall-jobber-ingest", "POST /webhooks/aircall"),
            ("aircall-jobber-ingest", "ingest.claim"),
            ("aircall-jobber-worker", "calls.log_activity"),
            ("aircall-jobber-worker", "flow calls.log_call"),
            ("aircall-jobber-worker", "POST jobber FindByPhone"),
            ("aircall-jobber-worker", "POST jobber LogOnClient"),
        }

        def one_trace() -> set[str]:
            # Each process exports on its own schedule: wait until both have sent the call's spans.
            seen = list(sink.seen)
            traces = {t for _, _, t in seen}
            return {t for t in traces if expected <= {(svc, name) for svc, name, tid in seen if tid == t}}

        (trace_id,) = until(
            one_trace, timeout=60, what="the call's spans from both processes at the collector"
        )
    finally:
        fleet.stop()
        collector.stop()
    assert {t for _, _, t in sink.seen} == {trace_id}  # the call's spans, and nothing in another trace


def test_what_celery_itself_publishes_starts_a_trace_its_task_continues(r, worker, spans):
    """Beat's jobs go out through Celery's own publish: a `send` span, and the task continues its trace."""
    from worker.app import app

    app.send_task("maintenance.check_webhook", ["int_nosuch"], queue="default")
    until(lambda: named(spans.get_finished_spans(), "maintenance.check_webhook"), what="the task's span")
    found = list(spans.get_finished_spans())
    (task,) = named(found, "maintenance.check_webhook")
    (sent,) = named(found, "send maintenance.check_webhook")
    assert parent_of(task, found) is sent
    assert (task.attributes or {})["aj.integration_id"] == "int_nosuch"
