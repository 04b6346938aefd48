"""Redis keeps what each purpose needs, for as long as it needs it (issue 10).

Given events through the ingest and a real worker, when they settle, then the ledger keeps a compact record
(no raw body), attempt logs expire with their event, dead letters keep their own copy of the raw event for
their own retention (so a replay after the ledger forgot the event still works), and nothing is recreated
without a TTL.
"""

from __future__ import annotations

import json
import time

import pytest
import requests
from click.testing import CliRunner

from cli import main as ajctl
from clients.errors import Permanent
from config.settings import get_settings
from flows.activity import EventContext, load_event, run_flow
from store import keys
from store.dead_letters import DeadLetter, DeadLetters
from store.ledger import Ledger
from store.redis import sync_client
from tests.support.payloads import call_event
from tests.support.poll import until
from tests.support.tenants import make_tenant, scope_of
from worker.app import app
from worker.retry import IntegrationTask

pytestmark = pytest.mark.flow

EVENT_TTL_S = 30 * 86400


def _remember(ctx: EventContext) -> str:
    """A flow that records what it read, and fails while `test:fail` is set."""
    r = sync_client()
    r.rpush(f"test:seen:{ctx.event_id}", json.dumps({"data": ctx.data, "timestamp": ctx.timestamp}))
    if r.get("test:fail"):
        raise Permanent("jobber clientCreateNote: client not found")
    return "logged"


@app.task(name="tests.retention.remember", base=IntegrationTask, bind=True)
def remember(self, event_id: str) -> str:
    return run_flow(event_id, _remember)


@pytest.fixture
def flow(monkeypatch):
    """Route `call.ended` (and `message.received`) to the recording flow above."""
    from flows.routes import EVENT_TASKS

    monkeypatch.setitem(EVENT_TASKS, "call.ended", "tests.retention.remember")
    monkeypatch.setitem(EVENT_TASKS, "message.received", "tests.retention.remember")


def send(ingest_url: str, body: dict) -> str:
    response = requests.post(f"{ingest_url}/webhooks/aircall", json=body, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["id"]


def outcome(r, event_id: str) -> str | None:
    return r.hget(keys.event(event_id), "outcome")


def show(event_id: str) -> dict:
    out = CliRunner().invoke(ajctl, ["events", "show", event_id, "--json"])
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)


# ---- the ledger ------------------------------------------------------------------------------------------


def test_set_outcome_on_an_expired_entry_recreates_nothing(r):
    """Before: HSET on the missing key created a ledger entry without a TTL (kept forever)."""
    ledger = Ledger(r)
    for outcome_ in ("done", "skipped", "failed", "pending"):
        ledger.set_outcome("ev_expired", outcome_, "late")
    ledger.record_skip("ev_expired", "integration deleted")
    ledger.record_attempt("ev_expired", task="calls.log_activity", kind="transient", error="503")
    # (A module's embedded worker, when running, keeps its own heartbeat key.)
    assert [k for k in r.keys("*") if not k.startswith(keys.WORKER_PREFIX)] == []


def test_a_settled_event_keeps_a_compact_record_and_show_says_the_raw_body_was_dropped(
    r, ingest_url, worker, flow
):
    tenant = make_tenant()
    event_id = send(ingest_url, call_event(tenant.webhook_token))
    assert r.hexists(keys.event(event_id), "raw")  # kept while the event is pending
    until(lambda: outcome(r, event_id) == "done", what="the event to settle")

    entry = r.hgetall(keys.event(event_id))
    assert "raw" not in entry
    assert {k: entry[k] for k in ("integration", "event", "outcome")} == {
        "integration": tenant.id,
        "event": "call.ended",
        "outcome": "done",
    }
    assert 0 < r.ttl(keys.event(event_id)) <= EVENT_TTL_S
    assert (
        r.object("encoding", keys.event(event_id)) == "listpack"
    )  # Redis's compact encoding for small hashes
    shown = show(event_id)
    assert shown["raw"] is None and shown["outcome"] == "done"
    assert shown["raw_dropped_at"] == shown["settled_at"] and shown["settled_at"]
    human = CliRunner().invoke(ajctl, ["events", "show", event_id]).stdout
    assert f"raw: dropped when the event settled ({shown['settled_at']})" in human
    # The recent activity still lists it.
    assert [e["id"] for e in Ledger(r).recent(tenant.id)] == [event_id]


def test_an_event_skipped_at_the_door_stores_no_raw_body(r, ingest_url):
    tenant = make_tenant(active=False)
    event_id = send(ingest_url, call_event(tenant.webhook_token))
    entry = r.hgetall(keys.event(event_id))
    assert entry["outcome"] == "skipped" and "raw" not in entry
    assert show(event_id)["raw_dropped_at"]


def test_the_attempt_log_expires_with_its_event_and_keeps_the_latest_entries(r):
    ledger = Ledger(r)
    r.hset(keys.event("ev_1"), mapping={"id": "ev_1", "outcome": "pending", "raw": "{}"})
    r.expire(keys.event("ev_1"), 3600)
    for i in range(200):
        ledger.record_attempt("ev_1", task="calls.log_activity", kind="rate_limited", error=f"wait {i}")
    assert 0 < r.ttl(keys.event_log("ev_1")) <= 3600
    history = ledger.history("ev_1")
    assert len(history) == keys.EVENT_LOG_KEPT and history[-1]["error"] == "wait 199"


def test_a_redelivered_task_of_a_settled_event_changes_nothing(r, ingest_url, worker, flow):
    """A message redelivered after its event settled (a worker lost before the ack) finds no raw body: the
    recorded outcome stands, nothing is dead-lettered."""
    tenant = make_tenant()
    body = {
        "resource": "message",
        "event": "message.received",
        "timestamp": 1732622990,
        "token": tenant.webhook_token,
        "data": {"id": "SM1", "direction": "inbound", "body": "hi"},
    }
    event_id = send(ingest_url, body)
    until(lambda: outcome(r, event_id) == "done", what="the event to settle")
    before = r.hgetall(keys.event(event_id))

    assert run_flow(event_id, _remember) == "already settled"
    assert r.hgetall(keys.event(event_id)) == before
    assert DeadLetters(r).count() == 0


def test_a_settled_call_event_is_loaded_again_from_its_call_snapshot(r, ingest_url, worker, flow):
    """Call events can be re-run after their raw body was dropped (replaying a skipped call under new
    settings): the call's state keeps every field the call flow reads."""
    from domain.calls import Snapshot
    from store.calls import CallStates

    tenant = make_tenant()
    contact = {"id": 9, "first_name": "Dana", "emails": [{"label": "work", "value": "dana@example.com"}]}
    body = call_event(tenant.webhook_token, comments=[{"id": 1, "content": "Fix the tap."}], contact=contact)
    event_id = send(ingest_url, body)
    until(lambda: outcome(r, event_id) == "done", what="the event to settle")
    snapshot = Snapshot("call.ended", body["timestamp"], body["data"])
    CallStates(r).add(
        scope_of(tenant.id), body["data"]["id"], event_id, snapshot
    )  # what the call flow stores

    stored = json.loads(r.hget(keys.call_state(scope_of(tenant.id), body["data"]["id"]), event_id))
    assert "contact" not in stored["data"]  # nothing downstream reads it: not a second copy of the raw event

    ctx = load_event(event_id)
    assert ctx.event == "call.ended" and ctx.timestamp == body["timestamp"]
    assert (
        ctx.data["comments"][0]["content"] == "Fix the tap." and ctx.data["raw_digits"] == "+1 415-555-0100"
    )


# ---- dead letters -----------------------------------------------------------------------------------------


def test_a_dead_letter_keeps_its_own_raw_copy_and_replays_after_the_ledger_forgot_the_event(
    r, ingest_url, worker, flow
):
    tenant = make_tenant()
    r.set("test:fail", "1")
    body = call_event(tenant.webhook_token)
    event_id = send(ingest_url, body)
    until(lambda: outcome(r, event_id) == "failed", what="the dead letter")
    assert "raw" not in r.hgetall(keys.event(event_id))  # one copy is enough: the dead letter's
    assert show(event_id)["raw"]["data"]["id"] == body["data"]["id"]  # shown from the dead letter's copy

    r.delete(keys.event(event_id), keys.event_log(event_id))  # the ledger's retention is over
    r.delete("test:fail")
    out = CliRunner().invoke(ajctl, ["events", "replay", event_id, "--json"])
    assert json.loads(out.stdout)["replayed"] == 1, out.output
    until(lambda: outcome(r, event_id) == "done", what="the replayed event to succeed")

    seen = [json.loads(x) for x in r.lrange(f"test:seen:{event_id}", 0, -1)]
    assert seen[-1] == {"data": body["data"], "timestamp": body["timestamp"]}  # the flow read the raw event
    entry = r.hgetall(keys.event(event_id))
    assert entry["integration"] == tenant.id and entry["event"] == "call.ended" and "raw" not in entry
    assert 0 < r.ttl(keys.event(event_id)) <= EVENT_TTL_S
    assert DeadLetters(r).count() == 0


def test_dead_letters_expire_after_their_own_retention(r, settings_env):
    settings_env.setenv("DEAD_LETTER_RETENTION_DAYS", "2")
    get_settings.cache_clear()
    dead = DeadLetters(r)
    stamp = "2026-11-24T09:15:00+00:00"
    letter = DeadLetter(
        id="ev_a",
        integration="int_1",
        event="call.ended",
        resource_id="1",
        task="t",
        args=["ev_a"],
        kwargs={},
        error="boom",
        attempts=1,
        first_failed_at=stamp,
        last_failed_at=stamp,
    )
    dead.add(letter)
    assert 0 < r.ttl(keys.dead_letter("ev_a")) <= 2 * 86400
    # An index entry whose letter is older than the retention (its hash expired) is no longer listed or
    # counted, and the next add prunes it.
    r.zadd(keys.DEAD_LETTERS, {"ev_old": time.time() - 3 * 86400})
    assert [d.id for d in dead.list()] == ["ev_a"] and dead.count() == 1
    dead.add(DeadLetter(**{**letter.__dict__, "id": "ev_b"}))
    assert r.zrange(keys.DEAD_LETTERS, 0, -1) == ["ev_a", "ev_b"]


# ---- what an integration keeps without a TTL ---------------------------------------------------------------


def test_deleting_an_integration_deletes_the_state_that_has_no_ttl(r):
    from domain.scope import Scope
    from store.contacts import ContactMap, Mapping, SyncStatus
    from store.integrations import IntegrationStore

    tenant = make_tenant()
    store = IntegrationStore(r, get_settings().secret_key())
    scope = Scope.of(store.require(tenant.id))
    ContactMap(r).put(scope, "client-1", Mapping(contact_id="42", digest="d"))
    ContactMap(r).set_watermark(tenant.id, "2026-11-24T09:15:00Z")
    SyncStatus(r).finished(tenant.id, {"created": 1})
    r.set(keys.reconcile_watermark(tenant.id), 1_790_000_000)
    assert all(r.exists(k) for k in keys.integration_state(tenant.id)[:3])

    store.mark_deleted(tenant.id, "Uninstalled from Aircall")
    assert not any(r.exists(k) for k in keys.integration_state(tenant.id))
    assert r.hget(keys.integration(tenant.id), "status") == "deleted"  # the tombstone stays
    # The client → contact map belongs to the Jobber account and the Aircall company: a reinstall finds it.
    assert ContactMap(r).get(scope, "client-1") == Mapping(contact_id="42", digest="d")
    assert r.ttl(keys.contact_map(scope)) > 0
