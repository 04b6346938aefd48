"""Every metric a Prometheus rule or a Grafana panel reads is one the fleet exports (issue 17): the fleet
started as the Procfile starts it (ingest, worker, beat), a ringing call with its card, the call's end
and a text played through it, and `/metrics` scraped with METRICS_TOKEN. A metric renamed in the code
(or in deploy/) breaks the build rather than the pager. Real processes: about ten seconds, so marked slow
(tests/conftest.py).
"""

from __future__ import annotations

import itertools
import time

import pytest
import redis
import requests
from prometheus_client.parser import text_string_to_metric_families

from config.integration import IntegrationSettings
from sandbox.fleet import SECRET, Fleet
from sandbox.scenarios import payloads as p
from store.integrations import IntegrationStore, JobberAccount
from tests.support import promql
from tests.support.metrics import scrape, value
from tests.support.poll import until

pytestmark = [pytest.mark.flow, pytest.mark.slow]

LINE = p.number_object(789, e164="+14155550199", name="Support line")
AGENT = p.user_object(456, name="Madelaine Dupont", email="madelaine@acme.com")
CALLER = "+14155550100"
_ids = itertools.count(9_800_000_001)


@pytest.fixture
def fleet(vendors, tmp_path):
    f = Fleet()
    f.env |= {
        "JOBBER_API_URL": f"{vendors.jobber}/api/graphql",
        "JOBBER_OAUTH_URL": f"{vendors.jobber}/api/oauth",
        "AIRCALL_API_URL": vendors.aircall,
        "WORKER_CONCURRENCY": "8",  # the Procfile's 128 threads are for production volumes
        "BEAT_SCHEDULE_FILE": str(tmp_path / "celerybeat-schedule"),
    }
    try:
        yield f
    finally:
        f.stop()


def install(fleet: Fleet, vendors) -> tuple[str, dict]:
    """An integration with a Jobber account holding the caller, and an Aircall company; its webhook token."""
    account = requests.post(f"{vendors.jobber}/_sandbox/accounts", json={"name": "Acme"}, timeout=5).json()
    clients = f"{vendors.jobber}/_sandbox/accounts/{account['account']['id']}/clients"
    client = {"firstName": "Dana", "lastName": "Caller", "phones": [{"number": CALLER}]}
    requests.post(clients, json=client, timeout=5).raise_for_status()
    company = requests.post(f"{vendors.aircall}/_sandbox/companies", json={"name": "Acme"}, timeout=5).json()
    store = IntegrationStore(redis.Redis.from_url(fleet.redis.url, decode_responses=True), SECRET)
    integration = store.create(
        aircall_api_id=company["api_id"],
        aircall_token=company["api_token"],
        aircall_auth="basic",
        aircall_company_id=str(company["id"]),
        settings=IntegrationSettings(numbers=[LINE["id"]]),
    )
    token = "whk-metrics-exported"
    store.bind_webhook(integration.id, "w-1", token)
    store.set_jobber_tokens(integration.id, account["access_token"], account["refresh_token"])
    store.connect_jobber_account(integration.id, JobberAccount(account["account"]["id"], "Acme"))
    return token, company


def traffic(token: str) -> tuple[dict, list[dict]]:
    """A ringing call (its card), the call's end, and a text: (the call.created, every event in order)."""
    call = p.inbound_answered_call(
        next(_ids), token=token, number=LINE, external=CALLER, agent=AGENT, started_at=int(time.time())
    )
    created = next(e for e in call if e["event"] == "call.created")
    ended = next(e for e in call if e["event"] == "call.ended")
    now = int(time.time())
    sms = p.message_object(
        f"msg-{next(_ids)}",
        direction="inbound",
        number=LINE,
        external=CALLER,
        body="Tuesday?",
        created_at=now,
    )
    return created, [created, ended, p.message_event(sms, token=token, timestamp=now)]


def test_every_metric_the_rules_and_the_dashboard_read_is_exported(fleet, vendors):
    token, company = install(fleet, vendors)
    ingest = fleet.ingest()
    fleet.worker_as_procfile()
    fleet.spawn(*fleet.procfile_command("beat", fleet.env))
    r = redis.Redis.from_url(fleet.redis.url, decode_responses=True)

    created, events = traffic(token)
    ringing = {"call": created["data"], "company_id": company["id"]}
    requests.post(f"{vendors.aircall}/_sandbox/calls", json=ringing, timeout=5).raise_for_status()
    ids = []
    for event in events:
        response = requests.post(f"{ingest}/webhooks/aircall", json=event, timeout=5)
        assert response.status_code == 200, response.text
        ids.append(response.json()["id"])
    until(
        lambda: all(r.hget(f"aj:ev:{i}", "outcome") == "done" for i in ids),
        timeout=60,
        what="the card, the call and the text",
    )

    def complete() -> str:
        # The card's latency is written with its posted mark; the worker's other counts (vendor requests among
        # them) reach Redis at its next flush, about once a second; it beats every few seconds.
        text = scrape(ingest)
        flushed = (
            value(text, "aj_card_seconds_count")
            and value(text, "aj_workers_alive")
            and (value(text, "aj_vendor_request_seconds_count", vendor="jobber") or 0) >= 2
            and (value(text, "aj_vendor_request_seconds_count", vendor="aircall") or 0) >= 1
        )
        return text if flushed else ""

    text = until(complete, timeout=30, what="the worker's counts in /metrics")
    exported = promql.exported_names(list(text_string_to_metric_families(text)))
    recorded = promql.recorded()
    used: dict[str, str] = {}
    for where, expr in promql.expressions():
        for name in promql.metric_names(expr):
            if name not in recorded:
                used.setdefault(name, where)
    assert len(used) >= 20
    missing = {name: where for name, where in used.items() if name not in exported}
    assert missing == {}, f"read by deploy/ but not exported: {missing}"

    # The traffic gave the counters samples, not only their declarations.
    assert value(text, "aj_webhook_responses_total", source="aircall", code="200") == 3
    assert value(text, "aj_webhooks_received_total", source="aircall", event="call.created") == 1
    assert value(text, "aj_vendor_request_seconds_count", vendor="jobber") >= 2
    assert value(text, "aj_vendor_request_seconds_count", vendor="aircall") >= 1
    assert value(text, "aj_card_seconds_count") == 1
    assert value(text, "aj_workers_alive") == 1
    beat_jobs = [line for line in text.splitlines() if line.startswith("aj_beat_job_interval_seconds{")]
    assert len(beat_jobs) >= 5  # the worker registered beat's schedule at start
