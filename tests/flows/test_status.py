"""`ajctl status`: the fleet's health as an operator wants it first, and the Jobber API version warnings the
workers met (jobber-api.md §1.2), also counted on /metrics."""

from __future__ import annotations

import itertools
import json
import time

import pytest
import requests
from click.testing import CliRunner, Result

from cli import main as ajctl
from sandbox.scenarios import payloads as p
from store.dead_letters import DeadLetter, DeadLetters
from store.ledger import Ledger
from tests.support.metrics import scrape
from tests.support.poll import until
from tests.support.tenants import make_tenant

pytestmark = pytest.mark.flow

LINE = p.number_object(789, e164="+14155550199", name="Support line")
AGENT = p.user_object(456, name="Madelaine Dupont", email="madelaine@acme.com")
CALLER = "+14155550100"
_ids = itertools.count(9_300_000_001)


def status(*args: str) -> Result:
    out = CliRunner().invoke(ajctl, ["status", *args])
    assert out.exit_code == 0, out.output
    return out


def status_doc() -> dict:
    return json.loads(status("--json").stdout)


def log_call(ingest_url: str, r, token: str) -> str:
    events = p.inbound_answered_call(
        next(_ids),
        token=token,
        number=LINE,
        external=CALLER,
        agent=AGENT,
        started_at=int(time.time()) - 120,
        comments=(),
        tags=(),
    )
    ended = next(e for e in events if e["event"] == "call.ended")
    event_id = requests.post(f"{ingest_url}/webhooks/aircall", json=ended, timeout=5).json()["id"]
    until(lambda: (Ledger(r).get(event_id) or {}).get("outcome") == "done", what="the call to be logged")
    return event_id


def test_a_pinned_version_jobber_no_longer_supports_shows_in_status_and_metrics(
    r, ingest_url, worker, vendors, settings_env
):
    settings_env.setenv(
        "JOBBER_API_VERSION", "2023-08-18"
    )  # supported once; Jobber now answers with a warning
    account = requests.post(f"{vendors.jobber}/_sandbox/accounts", json={"name": "Acme"}, timeout=5).json()
    requests.post(
        f"{vendors.jobber}/_sandbox/accounts/{account['account']['id']}/clients",
        json={"firstName": "Dana", "lastName": "Lopez", "phones": [{"number": CALLER}]},
        timeout=5,
    )
    tenant = make_tenant(jobber=account)

    log_call(ingest_url, r, tenant.webhook_token)  # the warning does not stop the work

    def both_requests_counted() -> dict | None:
        # The search and the note were answered with the warning; each worker flushes its counts every second.
        doc = status_doc()
        warnings = doc["jobber_api_version"]["warnings"]
        return doc if warnings and warnings[0]["count"] >= 2 else None

    doc = until(both_requests_counted, what="the warning, counted for both Jobber requests")
    (warning,) = doc["jobber_api_version"]["warnings"]
    assert (warning["requested"], warning["answered"]) == ("2023-08-18", "2023-08-18")
    assert warning["warning"].startswith("Support for API version 2023-08-18 has ended")
    assert warning["last_seen_at"].endswith("Z")
    assert doc["jobber_api_version"]["configured"] == "2023-08-18"
    human = status().stdout
    assert "Jobber API version 2023-08-18 warnings:" in human
    assert "2023-08-18 → answered as 2023-08-18, last seen" in human and "has ended" in human
    metrics = scrape(ingest_url)
    assert 'aj_jobber_api_version_warnings_total{answered="2023-08-18",requested="2023-08-18"}' in metrics
    assert "aj_jobber_api_version_warning_last_seen_timestamp_seconds{" in metrics


def test_status_shows_queues_events_dead_letters_integrations_and_workers(r, ingest_url, worker, vendors):
    make_tenant()
    make_tenant(active=False)
    DeadLetters(r).add(
        DeadLetter(
            id="ev_dead_1",
            integration=None,
            event="call.ended",
            resource_id="1",
            task="calls.log_activity",
            args=["ev_dead_1"],
            kwargs={},
            error="permanent: x",
            attempts=1,
            first_failed_at="2026-01-01T00:00:00+00:00",
            last_failed_at="2026-01-01T00:00:00+00:00",
        )
    )

    doc = until(lambda: (d := status_doc())["workers"] and d, what="the embedded worker's heartbeat")

    assert [q["queue"] for q in doc["queues"]] == ["cards", "default", "jobber", "aircall", "sync"]
    assert all(q["ready"] == 0 and q["in_lanes"] == 0 and q["oldest_age_s"] is None for q in doc["queues"])
    assert doc["events"] == {"pending": 0, "oldest_pending_age_s": None}
    assert doc["dead_letters"] == 1
    assert doc["integrations"] == {"active": 1, "inactive": 1, "deleted": 0, "needs_reconnect": 0}
    assert doc["workers"][0]["last_beat_age_s"] < 60 and doc["workers"][0]["pid"] > 0
    assert doc["jobber_api_version"]["warnings"] == []
    human = status().stdout
    assert "Dead letters: 1" in human and "Integrations: active 1, inactive 1" in human
    assert "Jobber API version 2025-04-16 warnings:\n  none seen" in human
