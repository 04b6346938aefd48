"""Ingest → Redis → a real embedded Celery worker: routing, the retry policy, dead letters and replay."""

from __future__ import annotations

import json

import pytest
import requests
from click.testing import CliRunner

from cli import main as ajctl
from clients.errors import Permanent, RateLimited, Transient
from sandbox.scenarios import payloads as p
from store.dead_letters import DeadLetters
from store.ledger import Ledger
from store.redis import sync_client
from tests.support.events import outcome, send
from tests.support.metrics import scrape
from tests.support.payloads import call_event
from tests.support.poll import until
from tests.support.tenants import make_tenant
from worker.app import app
from worker.retry import IntegrationTask

pytestmark = pytest.mark.flow


def _fail_first(event_id: str, n: int, error: Exception) -> None:
    """Fail the first `n` runs for this event with `error`, then mark the event done."""
    r = sync_client()
    runs = r.incr(f"test:runs:{event_id}")
    if runs <= n:
        raise error
    Ledger(r).set_outcome(event_id, "done")


@app.task(name="tests.flaky", base=IntegrationTask, bind=True)
def flaky(self, event_id: str) -> None:
    _fail_first(event_id, int(sync_client().get("test:fail_n") or 0), Transient("jobber: HTTP 503"))


@app.task(name="tests.throttled", base=IntegrationTask, bind=True)
def throttled(self, event_id: str) -> None:
    _fail_first(
        event_id,
        int(sync_client().get("test:fail_n") or 0),
        RateLimited("jobber: THROTTLED", retry_after=0.1),
    )


@app.task(name="tests.broken", base=IntegrationTask, bind=True)
def broken(self, event_id: str) -> None:
    _fail_first(
        event_id,
        int(sync_client().get("test:fail_n") or 0),
        Permanent("jobber clientCreateNote: client not found"),
    )


def test_worker_consumes_the_event_and_the_router_sees_it(r, ingest_url, worker, monkeypatch):
    from flows.routes import EVENT_TASKS

    monkeypatch.delitem(EVENT_TASKS, "call.ended")
    tenant = make_tenant()
    event_id = send(ingest_url, tenant.webhook_token)

    until(lambda: outcome(event_id) == "skipped", what="router to record the unhandled event")
    shown = Ledger(r).show(event_id)
    assert shown["skips"][0]["reason"] == "no handler for call.ended"
    until(lambda: r.llen("default") == 0 and r.hlen("unacked") == 0, what="the delivery acknowledged")


def test_router_dispatches_to_the_registered_handler(r, ingest_url, worker, handler):
    handler("tests.flaky", 0)
    event_id = send(ingest_url, make_tenant().webhook_token)
    until(lambda: outcome(event_id) == "done", what="handler to run")
    assert r.get(f"test:runs:{event_id}") == "1"


def test_integration_deactivated_after_ingest_is_skipped_by_the_router(r, ingest_url, worker, handler):
    from config.settings import get_settings
    from store.integrations import IntegrationStore

    handler("tests.flaky", 0)
    tenant = make_tenant()
    IntegrationStore(r, get_settings().secret_key()).set_status(tenant.id, "inactive", "test")
    # The event as the ingest stored it while the integration was still active; it routes only now.
    event_id = "ev_manual000000000000000001"
    r.hset(
        f"aj:ev:{event_id}",
        mapping={"id": event_id, "integration": tenant.id, "event": "call.ended", "raw": "{}"},
    )
    app.signature("events.route", args=[event_id]).apply_async()
    until(lambda: outcome(event_id) == "skipped", what="router skip")
    assert Ledger(r).show(event_id)["skips"][0]["reason"] == "integration inactive"
    assert r.get(f"test:runs:{event_id}") is None


@pytest.mark.slow
def test_transient_errors_are_retried_until_success(r, ingest_url, worker, handler):
    handler("tests.flaky", 2)
    event_id = send(ingest_url, make_tenant().webhook_token)

    until(lambda: outcome(event_id) == "done", timeout=20, what="success after two transient failures")
    attempts = Ledger(r).show(event_id)["attempts"]
    assert [a["kind"] for a in attempts] == ["transient", "transient"]
    assert DeadLetters(r).count() == 0


@pytest.mark.slow
def test_rate_limits_wait_without_spending_attempts(r, ingest_url, worker, handler, settings_env):
    settings_env.setenv("RETRY_MAX_ATTEMPTS", "2")
    handler("tests.throttled", 4)  # more waits than the attempt budget
    event_id = send(ingest_url, make_tenant().webhook_token)

    until(lambda: outcome(event_id) == "done", timeout=20, what="success after four rate-limit waits")
    assert [a["kind"] for a in Ledger(r).show(event_id)["attempts"]] == ["rate_limited"] * 4
    assert DeadLetters(r).count() == 0


@pytest.mark.slow
def test_exhausted_retries_dead_letter_and_replay_does_not_duplicate(
    r, ingest_url, worker, handler, settings_env
):
    settings_env.setenv("RETRY_MAX_ATTEMPTS", "3")
    handler("tests.flaky", 3)
    tenant = make_tenant()
    event_id = send(ingest_url, tenant.webhook_token)

    until(lambda: outcome(event_id) == "failed", timeout=20, what="dead letter after 3 attempts")
    cli = CliRunner()
    failed = json.loads(cli.invoke(ajctl, ["events", "failed", "--json"]).stdout)
    assert [(f["id"], f["integration"], f["event"], f["attempts"]) for f in failed] == [
        (event_id, tenant.id, "call.ended", 3)
    ]
    assert "gave up after 3 attempts" in failed[0]["error"]
    shown = json.loads(cli.invoke(ajctl, ["events", "show", event_id, "--json"]).stdout)
    assert shown["outcome"] == "failed"
    assert [a["kind"] for a in shown["attempts"]] == ["transient"] * 3 + ["dead_letter"]

    dry = json.loads(cli.invoke(ajctl, ["events", "replay", "--all", "--dry-run", "--json"]).stdout)
    assert dry == {"replayed": 1, "skipped": 0, "ids": [event_id], "dry_run": True}
    assert DeadLetters(r).count() == 1

    result = cli.invoke(ajctl, ["events", "replay", event_id, "--json"])
    assert json.loads(result.stdout)["replayed"] == 1
    until(lambda: outcome(event_id) == "done", timeout=20, what="replayed event to succeed")
    assert r.get(f"test:runs:{event_id}") == "4"  # three failures, one success: the replay ran once
    assert DeadLetters(r).count() == 0
    assert json.loads(cli.invoke(ajctl, ["events", "failed", "--json"]).stdout) == []


def test_permanent_errors_dead_letter_at_once(r, ingest_url, worker, handler):
    handler("tests.broken", 1)
    event_id = send(ingest_url, make_tenant().webhook_token)
    until(lambda: outcome(event_id) == "failed", what="dead letter")
    [letter] = DeadLetters(r).list()
    assert letter.attempts == 1 and letter.error.startswith("permanent: jobber clientCreateNote")


def test_replay_of_unknown_ids_is_reported_as_skipped(r, worker):
    out = CliRunner().invoke(ajctl, ["events", "replay", "ev_nope", "--json"])
    assert json.loads(out.stdout) == {"replayed": 0, "skipped": 1, "ids": [], "dry_run": False}


def test_integration_deleted_webhook_uninstalls_through_the_worker(r, ingest_url, worker, vendors):
    """Aircall's `integration.deleted` for an OAuth install (the only kind it is sent for) → lifecycle task:
    confirmed with Aircall, then Jobber appDisconnect, install disabled (issue 16: an API-key install's is
    skipped; tests/flows/test_lifecycle.py)."""
    from flows.lifecycle import connect_jobber, install_with_oauth

    company = requests.post(f"{vendors.aircall}/_sandbox/companies", json={"name": "Acme"}, timeout=5).json()
    account = requests.post(f"{vendors.jobber}/_sandbox/accounts", json={"name": "Acme"}, timeout=5).json()
    oauth = requests.post(
        f"{vendors.aircall}/_sandbox/companies/{company['id']}/oauth_token", timeout=5
    ).json()
    installed = install_with_oauth(oauth["access_token"]).integration
    connect_jobber(installed.id, account["access_token"], account["refresh_token"])
    state = requests.get(f"{vendors.aircall}/_sandbox/state", timeout=5).json()
    [webhook] = next(c for c in state["companies"] if c["id"] == company["id"])["webhooks"]
    requests.post(
        f"{vendors.aircall}/_sandbox/companies/{company['id']}/uninstall", timeout=5
    ).raise_for_status()

    # The payload Aircall sends (aircall-api.md §1.4): `data: {integration_id, company_id}`, no `data.id`.
    body = p.integration_deleted(token=webhook["token"], timestamp=1_790_000_000, company_id=company["id"])
    accepted = requests.post(f"{ingest_url}/webhooks/aircall", json=body, timeout=5)
    assert accepted.status_code == 200, accepted.text

    def shown() -> dict:
        return json.loads(CliRunner().invoke(ajctl, ["integrations", "show", installed.id, "--json"]).stdout)

    until(lambda: shown()["status"] == "deleted", what="uninstall")
    assert shown()["message"] == "Uninstalled from Aircall"
    accounts = requests.get(f"{vendors.jobber}/_sandbox/accounts", timeout=5).json()
    assert next(a for a in accounts if a["id"] == account["account"]["id"])["connected"] is False
    # Later events for the deleted integration are acknowledged and change nothing.
    later = requests.post(f"{ingest_url}/webhooks/aircall", json=call_event(webhook["token"]), timeout=5)
    assert later.status_code == 200 and later.json()["status"] == "skipped"


def test_metrics_show_task_outcomes_durations_and_vendor_requests(r, ingest_url, worker, handler):
    handler("tests.flaky", 1)
    event_id = send(ingest_url, make_tenant().webhook_token)
    until(lambda: outcome(event_id) == "done", what="task")
    from clients.http import _observe

    _observe("jobber", "200", 0.03)  # what every adapter request reports (status, seconds)

    def text() -> str:
        # Workers add their counts to Redis about once a second.
        page = scrape(ingest_url)
        wanted = ('aj_tasks_total{outcome="success",task="tests.flaky"}', 'vendor="jobber"')
        return page if all(w in page for w in wanted) else ""

    text = until(text, what="the worker's counts in /metrics")
    assert 'aj_tasks_total{outcome="retry",task="tests.flaky"} 1.0' in text
    assert 'aj_tasks_total{outcome="success",task="tests.flaky"} 1.0' in text
    assert 'aj_vendor_requests_total{status="200",vendor="jobber"} 1.0' in text
    assert 'aj_task_seconds_bucket{le="+Inf"}' in text and "aj_task_seconds_sum" in text
