"""Beat jobs against the sandbox vendors: Aircall webhook health and proactive Jobber token refresh, each one
task per tenant."""

from __future__ import annotations

import pytest
import requests

from config.settings import get_settings
from flows import maintenance, reconcile
from store.crypto import token_hash
from store.integrations import IntegrationStore
from tests.support.poll import until
from tests.support.queues import queued_messages
from tests.support.tenants import make_tenant
from worker.app import app
from worker.schedule import BEAT_SCHEDULE

pytestmark = pytest.mark.flow


def test_every_beat_job_names_a_registered_task():
    app.loader.import_default_modules()  # what a worker does at start (alone, this test imported none)
    assert BEAT_SCHEDULE
    for entry in BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks
        assert app.tasks[entry["task"]].__module__ in app.conf.include  # a worker imports it at start


def test_every_task_name_is_in_the_registry_and_registered_with_its_queue():
    """Task names live in one registry (config/queues.py `Task`): every task a worker registers is one
    of them, every one of them is registered (a worker imports its module at start) and has a queue, and
    the event routes, the beat schedule and Celery's routes use the registry's names only."""
    from config.celery import celery_config
    from config.queues import TASK_QUEUES, Task
    from domain.envelope import ROUTED_EVENTS
    from flows.routes import EVENT_TASK_PREFIXES, EVENT_TASKS, task_for_event

    app.loader.import_default_modules()
    ours = {name for name in app.tasks if not name.startswith(("celery.", "tests."))}
    assert ours == {t.value for t in Task}
    assert set(TASK_QUEUES) == set(Task)
    for task in Task:
        assert app.tasks[task].__module__ in app.conf.include, task
        assert celery_config(get_settings())["task_routes"][task.value] == {"queue": TASK_QUEUES[task]}
    assert all(isinstance(t, Task) for t in (*EVENT_TASKS.values(), *EVENT_TASK_PREFIXES.values()))
    assert all(isinstance(entry["task"], Task) for entry in BEAT_SCHEDULE.values())
    unhandled = {e for e in ROUTED_EVENTS if task_for_event(e) is None}
    assert unhandled == {"call.unsuccessful_transfer"}  # accepted, recorded as skipped by the router


def install(vendors):
    from click.testing import CliRunner

    from cli import main as ajctl

    company = requests.post(f"{vendors.aircall}/_sandbox/companies", json={"name": "Acme"}, timeout=5).json()
    account = requests.post(f"{vendors.jobber}/_sandbox/accounts", json={"name": "Acme"}, timeout=5).json()
    out = CliRunner().invoke(
        ajctl,
        [
            "integrations",
            "create",
            "--aircall-api-id",
            company["api_id"],
            "--aircall-api-token",
            company["api_token"],
            "--jobber-access-token",
            account["access_token"],
            "--jobber-refresh-token",
            account["refresh_token"],
            "--json",
        ],
    )
    import json

    return company, account, json.loads(out.stdout)["id"]


def webhooks(vendors, company) -> list[dict]:
    state = requests.get(f"{vendors.aircall}/_sandbox/state", timeout=5).json()
    return next(c for c in state["companies"] if c["id"] == company["id"])["webhooks"]


def test_a_disabled_webhook_is_reenabled_and_a_deleted_one_recreated(r, vendors):
    company, _, integration_id = install(vendors)
    [hook] = webhooks(vendors, company)
    auth = (company["api_id"], company["api_token"])
    assert maintenance.check_webhook_of(integration_id) == "healthy"

    requests.put(
        f"{vendors.aircall}/v1/webhooks/{hook['webhook_id']}", json={"active": False}, auth=auth, timeout=5
    )
    assert maintenance.check_webhook_of(integration_id) == "reenabled"
    assert webhooks(vendors, company)[0]["active"] is True

    requests.delete(f"{vendors.aircall}/v1/webhooks/{hook['webhook_id']}", auth=auth, timeout=5)
    assert maintenance.check_webhook_of(integration_id) == "recreated"
    [new] = webhooks(vendors, company)
    assert (
        r.hget("aj:whtok", token_hash(new["token"])) == integration_id
    )  # its events route to the integration
    # The deleted webhook's token no longer opens anything: a rebind retires it (events would come twice).
    assert r.hget("aj:whtok", token_hash(hook["token"])) is None


def test_a_vendor_failure_is_logged_and_ends_the_share_cleanly(r, vendors, caplog):
    _, _, integration_id = install(vendors)
    broken = make_tenant()  # placeholder Aircall credentials: the sandbox refuses them
    assert maintenance.check_webhook_of(broken.id) == "failed"
    assert f"maintenance.webhook_health.failed integration={broken.id}" in caplog.text
    assert maintenance.check_webhook_of(integration_id) == "healthy"


def test_tokens_close_to_expiry_are_refreshed_and_fresh_ones_left_alone(r, vendors):
    _, account, integration_id = install(vendors)
    store = IntegrationStore(r, get_settings().secret_key())
    assert maintenance.refresh_token_of(integration_id) == "fresh"

    soon = requests.post(
        f"{vendors.jobber}/_sandbox/tokens",
        json={"account_id": account["account"]["id"], "access_token_ttl_s": 300},
        timeout=5,
    ).json()
    store.set_jobber_tokens(integration_id, soon["access_token"], soon["refresh_token"])
    assert maintenance.refresh_token_of(integration_id) == "refreshed"
    assert store.secrets(integration_id).jobber_access_token != soon["access_token"]
    assert maintenance.refresh_token_of(integration_id) == "fresh"


def test_a_token_whose_expiry_is_only_in_expires_in_is_refreshed_in_time(r, vendors):
    """Jobber documents JWT access tokens without `expires_in`; if a token answer carries `expires_in` and the
    access token has no `exp` (here: an opaque token), the expiry comes from `expires_in`."""
    from flows.vendors import refresh_jobber

    _, _, integration_id = install(vendors)
    store = IntegrationStore(r, get_settings().secret_key())
    options = f"{vendors.jobber}/_sandbox/token_options"
    requests.post(options, json={"opaque": True, "expires_in": True, "access_token_ttl_s": 300}, timeout=5)
    stale = store.secrets(integration_id).jobber_access_token
    refresh_jobber(store.require(integration_id), stale=stale, settings=get_settings())  # the product's path
    opaque = store.secrets(integration_id).jobber_access_token
    assert opaque != stale and opaque.count(".") == 0  # no JWT, no `exp` to read

    requests.post(options, json={"access_token_ttl_s": 3600}, timeout=5)
    assert maintenance.refresh_token_of(integration_id) == "refreshed"  # expires in 300 s: inside the margin
    assert store.secrets(integration_id).jobber_access_token != opaque
    assert maintenance.refresh_token_of(integration_id) == "fresh"  # the new one lasts an hour


def test_an_unexpected_error_in_one_share_is_logged_and_ends_it_cleanly(r, vendors, monkeypatch, caplog):
    integration_id = install(vendors)[2]

    def check(integration):  # type: ignore[no-untyped-def]
        raise KeyError("a bug, not a vendor error")

    monkeypatch.setattr(maintenance, "check_webhook", check)
    assert maintenance.check_webhook_of(integration_id) == "failed"
    assert f"maintenance.webhook_health.crashed integration={integration_id}" in caplog.text
    assert maintenance.check_webhook_of("int_gone") == "inactive"


@pytest.mark.parametrize(
    ("job", "task"),
    [
        (maintenance.webhook_health, "maintenance.check_webhook"),
        (maintenance.refresh_jobber_tokens, "maintenance.refresh_jobber_token"),
        (reconcile.reconcile_calls, "maintenance.reconcile_integration"),
    ],
    ids=["webhook_health", "refresh_jobber_tokens", "reconcile_calls"],
)
def test_beat_jobs_fan_out_one_task_per_active_tenant_in_its_lane(r, job, task):
    """A beat job never loops over every tenant in one task (which would outlive the redelivery window as
    tenants grow, and let one slow tenant hold the rest): it starts one task per active integration, each in
    that tenant's lane (store/queues.py)."""
    tenants = [make_tenant() for _ in range(3)]
    make_tenant(active=False)

    assert job() == 3

    started = [m for m in queued_messages(r) if m["headers"]["task"] == task]
    assert sorted(m["headers"]["argsrepr"] for m in started) == sorted(repr([t.id]) for t in tenants)
    assert {m["headers"]["aj_tenant"] for m in started} == {t.id for t in tenants}
    assert len(queued_messages(r)) == 3  # nothing else: the job itself did no tenant's work


def test_a_fanned_out_beat_job_serves_every_tenant_when_one_fails(r, vendors, worker):
    make_tenant()  # first, with placeholder Aircall credentials: its share fails, alone
    company, _, _ = install(vendors)
    [hook] = webhooks(vendors, company)
    auth = (company["api_id"], company["api_token"])
    requests.put(
        f"{vendors.aircall}/v1/webhooks/{hook['webhook_id']}", json={"active": False}, auth=auth, timeout=5
    )

    assert maintenance.webhook_health() == 2

    until(lambda: webhooks(vendors, company)[0]["active"] is True, timeout=30, what="the webhook re-enabled")


def test_a_webhook_reenabled_after_429s_says_so_in_its_log_line(r, vendors, ingest_with, caplog):
    """Aircall disables a webhook after ~10 failed deliveries in a row: a tenant over its limits, answered
    429, can have its webhook disabled. Beat re-enables it, and its log line names the refusals, so
    the operator sees why (README, "One tenant never slows another")."""
    company, _, integration_id = install(vendors)
    [hook] = webhooks(vendors, company)
    url = ingest_with(WEBHOOK_RATE_LIMIT=1, WEBHOOK_RATE_WINDOW_S=60)
    event = {
        "resource": "call",
        "event": "call.ended",
        "timestamp": 1,
        "token": hook["token"],
        "data": {"id": 1},
    }
    answers = [
        requests.post(f"{url}/webhooks/aircall", json={**event, "data": {"id": n}}, timeout=5)
        for n in range(12)
    ]
    assert [a.status_code for a in answers] == [200] + [429] * 11
    auth = (company["api_id"], company["api_token"])
    requests.put(
        f"{vendors.aircall}/v1/webhooks/{hook['webhook_id']}", json={"active": False}, auth=auth, timeout=5
    )

    assert maintenance.check_webhook_of(integration_id) == "reenabled"
    assert f"maintenance.webhook_reenabled integration={integration_id}" in caplog.text
    assert "refused_429_rate_limited=11" in caplog.text
