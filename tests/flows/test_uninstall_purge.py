"""Uninstall removes the tenant's data (issue 16, README "Uninstall"): install, log calls, messages and AI
insights, dead-letter one, sign in, leave a Jobber consent waiting, uninstall, run the purge, then read every
key in Redis: nothing of the tenant is left but the tombstone (until TOMBSTONE_DAYS) and the idempotency
records a reinstall needs, keyed on the Jobber account and Aircall company. Real Redis, the real worker,
the sandbox vendors over HTTP."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from cli import main as ajctl
from config.settings import get_settings
from flows.connect import disconnect_expired, pending_store
from sandbox.scenarios import payloads as p
from store import keys
from store.dead_letters import DeadLetters
from store.pending_jobber import PendingJobber
from store.purge import Purges
from store.sessions import SessionStore
from tests.flows.test_ai_insights import CALLER, CONTENT, a_call, generate, send, tenant, world  # noqa: F401
from tests.support.payloads import call_event
from tests.support.poll import until
from tests.support.purge import run_purge_to_the_end

pytestmark = pytest.mark.flow

SECRET_TEXT = "Please come by Tuesday, the gate code is 4471"
# Kept by design (README "Uninstall"): idempotency records a reinstall for the same Jobber account and Aircall
# company needs, as long as their names no longer carry the integration id (store/purge.py).
KEPT_BY_DESIGN = ("aj:activity:", "aj:ai_tasks:", "aj:ai_task_attempts:", "aj:created:", "aj:created_rev:")


def everything(r: Any) -> dict[str, str]:
    """Every key in Redis with its content, as text."""
    read = {
        "string": lambda key: r.get(key),
        "hash": lambda key: r.hgetall(key),
        "list": lambda key: r.lrange(key, 0, -1),
        "set": lambda key: sorted(r.smembers(key)),
        "zset": lambda key: r.zrange(key, 0, -1, withscores=True),
    }
    return {key: str(read.get(r.type(key), lambda _: "")(key)) for key in r.scan_iter()}


def mentions(keyspace: dict[str, str], *needles: str) -> dict[str, str]:
    """The keys whose name or content holds one of `needles`, but those kept by design."""
    return {
        key: content
        for key, content in keyspace.items()
        if any(n in key or n in content for n in needles) and not key.startswith(KEPT_BY_DESIGN)
    }


def test_an_uninstall_leaves_nothing_of_the_tenant_but_what_the_readme_keeps(r, ingest_url, worker, world):  # noqa: F811
    # Given a tenant that logged a call with AI insights and a text, and has one dead letter
    installed = tenant(world)
    line = {**world.company["numbers"][0], "e164_digits": "+14155550199"}
    events, ai = a_call(world, installed.webhook_token)
    send(ingest_url, r, events)
    generate(world, events[-1]["data"]["id"])
    send(ingest_url, r, ai)
    message = p.message_object(
        "msg-purge-1",
        direction="inbound",
        number=line,
        external=CALLER,
        body=SECRET_TEXT,
        created_at=int(time.time()) - 60,
    )
    send(ingest_url, r, [p.message_event(message, token=installed.webhook_token, timestamp=int(time.time()))])
    requests.post(
        f"{world.jobber}/_sandbox/faults",
        json={"reset": True, "fail_next": 1, "error_status": 400},
        timeout=5,
    ).raise_for_status()
    number = {"id": line["id"], "name": line["name"], "digits": "+1 415-555-0199", "country": "US"}
    failing = call_event(installed.webhook_token, raw_digits=CALLER, number=number)
    requests.post(f"{ingest_url}/webhooks/aircall", json=failing, timeout=5).raise_for_status()
    until(lambda: DeadLetters(r).list(installed.id), timeout=20, what="a dead letter")
    # an admin signed in, an unused sign-in link, and a Jobber consent started from its settings, waiting
    sessions = SessionStore(r, get_settings().secret_key())
    sessions.create(installed.id)
    sessions.issue_link(installed.id, 600)
    other = requests.post(f"{world.jobber}/_sandbox/accounts", json={"name": "Other"}, timeout=5).json()
    pending_store().hold(
        PendingJobber(
            other["access_token"],
            other["refresh_token"],
            other["account"]["id"],
            "Other",
            integration_id=installed.id,
            hold_until=time.time() + 3600,
        )
    )
    before = everything(r)
    assert mentions(before, CALLER.removeprefix("+"))  # phone numbers, in call snapshots, dead letters...
    assert mentions(before, CONTENT["summary"])  # (a settled message keeps no body)

    # When it is uninstalled, and the purge runs
    deleted = CliRunner().invoke(ajctl, ["integrations", "delete", installed.id, "--json"])
    assert deleted.exit_code == 0, deleted.output
    run_purge_to_the_end(r)
    assert disconnect_expired().get("disconnected") == 1  # the consent nobody can attach now
    accounts = requests.get(f"{world.jobber}/_sandbox/accounts", timeout=5).json()
    assert next(a for a in accounts if a["id"] == other["account"]["id"])["connected"] is False

    # Then no key holds its phone numbers, texts, AI content, tokens or events
    after = everything(r)
    for needle in (CALLER.removeprefix("+"), "4155550199", CONTENT["summary"], SECRET_TEXT, "My pipe burst"):
        assert mentions(after, needle) == {}, needle
    # and what names it is the tombstone alone: its record (no token), its token route, the purge's indexes
    named = mentions(after, installed.id)
    assert set(named) <= {
        keys.integration(installed.id),
        keys.WEBHOOK_TOKENS,
        keys.INTEGRATIONS,
        keys.TOMBSTONES,
    }, named
    tombstone = r.hgetall(keys.integration(installed.id))
    assert tombstone["status"] == "deleted" and not [f for f in tombstone if f.endswith("_enc")]
    assert "settings" not in tombstone and "jobber_account_name" not in tombstone
    assert [k for k in after if k.startswith("aj:session:")] and all(
        json.dumps(r.hgetall(k)) == '{"revoked": "uninstalled"}' for k in after if k.startswith("aj:session:")
    )

    # A late delivery from Aircall is acknowledged and leaves nothing behind
    late = requests.post(
        f"{ingest_url}/webhooks/aircall", json=call_event(installed.webhook_token), timeout=5
    )
    assert late.status_code == 200 and late.json()["status"] == "skipped"
    assert set(mentions(everything(r), installed.id)) == set(named)

    # TOMBSTONE_DAYS later the tombstone goes too, and the token is unknown
    run_purge_to_the_end(r, now=time.time() + get_settings().tombstone_s + 60)
    assert mentions(everything(r), installed.id) == {}
    gone = requests.post(
        f"{ingest_url}/webhooks/aircall", json=call_event(installed.webhook_token), timeout=5
    )
    assert gone.status_code == 401


def test_a_pass_interrupted_half_way_is_resumed_and_spares_the_other_tenants(r, vendors):
    # Given two tenants' events, and one of the tenants deleted
    from store.integrations import IntegrationStore
    from tests.support.tenants import make_tenant, scope_of

    doomed, kept = make_tenant(), make_tenant()
    for n in range(300):
        for owner in (doomed, kept):
            r.hset(keys.event(f"ev_{owner.id}_{n}"), mapping={"integration": owner.id, "outcome": "done"})
            r.hset(keys.call_state(scope_of(owner.id), n), mapping={"ev_x": "{}"})
    IntegrationStore(r, get_settings().secret_key()).mark_deleted(doomed.id, "Deleted")

    # When a worker dies after the first step of the pass (its cursor saved), and the next run resumes it
    purges = Purges(r)
    started = purges.start(purges.due())
    first = purges.step(started, count=50)
    assert first.cursor != 0 and purges.current().cursor == first.cursor  # type: ignore[union-attr]
    run_purge_to_the_end(r)

    # Then everything of the deleted tenant is gone, and nothing of the other
    keyspace = everything(r)
    assert set(mentions(keyspace, doomed.id)) <= {
        keys.integration(doomed.id),
        keys.WEBHOOK_TOKENS,
        keys.INTEGRATIONS,
        keys.TOMBSTONES,
    }
    assert len([k for k in keyspace if kept.id in k]) == 600 + 1  # its events, calls, and its record


def test_the_purge_spares_the_call_events_a_reinstall_shares_and_takes_them_with_the_last_one(r, vendors):
    """A reinstall for the same Aircall company and Jobber account has the uninstalled integration's scope:
    its call events (and AI content) are the live integration's too, until it goes as well."""
    from store.integrations import IntegrationStore
    from tests.support.tenants import make_tenant, scope_of

    shared = {"access_token": "a", "refresh_token": "r", "account": {"id": "acct-shared", "name": "Acme"}}
    old = make_tenant(jobber=shared)
    new = make_tenant(jobber=shared)  # takes the account over: same company, same account
    scope = scope_of(new.id)
    assert scope == scope_of(old.id)
    r.hset(keys.call_state(scope, 77), mapping={"ev_x": '{"raw_digits": "+14155550100"}'})
    store = IntegrationStore(r, get_settings().secret_key())

    store.mark_deleted(old.id, "Deleted")
    run_purge_to_the_end(r)
    assert r.exists(keys.call_state(scope, 77))  # the live reinstall's

    store.mark_deleted(new.id, "Deleted")
    run_purge_to_the_end(r)
    assert not r.exists(keys.call_state(scope, 77))
