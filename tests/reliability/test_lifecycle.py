"""The whole life of integrations sharing one Jobber account (SPEC §5, issue 16): install, log calls,
reinstall for the same Aircall company and Jobber account, take the account over from a second integration,
uninstall the older ones. Accounting: no call logged twice in the sandbox Jobber, none lost, and the live
integration still connected at the end (and logging).

Real processes (uvicorn ingest, two Celery workers) on a private Redis with AOF, the sandbox vendors over
HTTP; the installs, connects and deletes run in this process as `ajctl` and the settings page run them. Under
both readings of what a new consent does to an account's earlier connection (jobber-api.md §2.5, UNCONFIRMED):
it ends it, or both stay live -- the one in which an older integration's `appDisconnect` would disconnect
the account from the integration that holds it now.
"""

from __future__ import annotations

from typing import Any

import pytest
import redis
import requests

from config.integration import IntegrationSettings
from sandbox.fleet import Fleet, post_all
from sandbox.scenarios.library import ScenarioContext, build, delivery_order
from tests.support.accounting import account_calls, notes_per_call, scale
from tests.support.poll import until

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

READINGS = {"consent-ends-old": True, "both-live": False}


@pytest.fixture
def fleet(vendors):
    """The fleet's processes; this process points at its Redis (flows run here) and is restored afterwards."""
    import os

    from config.settings import get_settings
    from store.queues import fair_queues
    from store.redis import sync_client

    saved = dict(os.environ)
    f = Fleet()
    f.env |= {"RETRY_BACKOFF_MAX_S": "2"}
    f.point_at()
    fair_queues.cache_clear()  # (it holds a client of the Redis it was first used with)
    try:
        yield f
    finally:
        f.stop()
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()
        sync_client.cache_clear()
        fair_queues.cache_clear()


class World:
    """One Jobber account; two Aircall companies; installs, connects and deletes as the product does them."""

    def __init__(self, jobber: str, aircall: str, revoke_previous: bool):
        self.jobber, self.aircall, self.revoke_previous = jobber, aircall, revoke_previous
        body = {"name": "Lifecycle Plumbing", "seed_clients": 20, "seed": 7, "connect": False}
        self.account = requests.post(f"{jobber}/_sandbox/accounts", json=body, timeout=10).json()["account"]
        state = requests.get(
            f"{jobber}/_sandbox/state", params={"account_id": self.account["id"]}, timeout=10
        )
        self.phones = sorted(
            {
                ph["normalizedPhoneNumber"]
                for c in state.json()["accounts"][0]["clients"]
                if not c.get("isArchived")
                for ph in c.get("phones") or []
                if ph.get("normalizedPhoneNumber")
            }
        )[:10]

    def company(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = requests.post(
            f"{self.aircall}/_sandbox/companies", json={"name": name}, timeout=5
        ).json()
        return found

    def install(self, company: dict[str, Any]) -> tuple[str, str]:
        """`ajctl integrations create` with the company's API key: (integration id, its webhook token)."""
        from flows.lifecycle import install_with_api_key

        installed = install_with_api_key(
            api_id=company["api_id"],
            api_token=company["api_token"],
            jobber_access_token=None,
            jobber_refresh_token=None,
            integration_settings=IntegrationSettings(numbers=[company["numbers"][0]["id"]]),
        ).integration
        state = requests.get(f"{self.aircall}/_sandbox/state", timeout=5).json()
        hooks = next(c for c in state["companies"] if c["id"] == company["id"])["webhooks"]
        token = next(w["token"] for w in hooks if w["webhook_id"] == installed.aircall_webhook_id)
        return installed.id, str(token)

    def connect(self, integration_id: str) -> None:
        """A Jobber admin approves the account for this integration: a new connection (token pair)."""
        from flows.lifecycle import connect_jobber

        body = {"account_id": self.account["id"], "revoke_previous": self.revoke_previous}
        pair = requests.post(f"{self.jobber}/_sandbox/tokens", json=body, timeout=5).json()
        connect_jobber(integration_id, pair["access_token"], pair["refresh_token"])

    def calls(self, company: dict[str, Any], seed: int, first_call_id: int) -> list[dict[str, Any]]:
        number = company["numbers"][0]
        ctx = ScenarioContext(
            token="-", externals=self.phones, numbers=[number], seed=seed, first_call_id=first_call_id
        )
        return build("inbound_answered", ctx, count=scale(3, 15))


def deliver(ingest: str, r: redis.Redis, events: list[dict[str, Any]], tokens: list[str]) -> dict[str, str]:
    """Every event to every webhook of the company (`tokens`), twice, shuffled; waits until all settled.
    Returns call id -> outcome of its `call.ended`, for the integration that should log it
    (the first token)."""
    sent = [{**e, "token": t} for e in events for t in tokens]
    deliveries = delivery_order(sent, duplicates=2, shuffle=True, seed=5)
    ids = post_all(ingest, deliveries, 8)
    until(
        lambda: all(r.hget(f"aj:ev:{i}", "outcome") not in (None, "pending") for i in set(ids) if i),
        timeout=scale(60, 300),
        interval=0.25,
        what="every event settled",
    )
    return {
        str(e["data"]["id"]): str(r.hget(f"aj:ev:{i}", "outcome"))
        for e, i in zip(deliveries, ids, strict=True)
        if e["event"] == "call.ended" and e["token"] == tokens[0] and i
    }


@pytest.mark.parametrize("reading", list(READINGS))
def test_install_reinstall_takeover_uninstall_logs_each_call_once_and_keeps_the_holder(
    fleet, vendors, reading
):
    from flows.lifecycle import delete_integration
    from flows.vendors import jobber_for, store_for

    world = World(vendors.jobber, vendors.aircall, READINGS[reading])
    ours, theirs = world.company("Lifecycle Co"), world.company("Takeover Co")
    ingest = fleet.ingest()
    fleet.worker(concurrency=8)
    fleet.worker(concurrency=8)
    r = redis.Redis.from_url(fleet.redis.url, decode_responses=True)
    outcomes: dict[str, str] = {}

    # 1. Install for the Aircall company and the Jobber account; calls are logged.
    first, first_token = world.install(ours)
    world.connect(first)
    batch1 = world.calls(ours, seed=1, first_call_id=1_700_000_000)
    outcomes |= deliver(ingest, r, batch1, [first_token])

    # 2. Reinstall for the same company and account: the new install takes the account; Aircall delivers to
    #    both webhooks; the calls of before reach the new install again (late deliveries, reconciliation).
    second, second_token = world.install(ours)
    world.connect(second)
    batch2 = world.calls(ours, seed=2, first_call_id=1_710_000_000)
    outcomes |= deliver(ingest, r, batch2, [second_token, first_token])
    again = deliver(ingest, r, batch1, [second_token, first_token])

    # 3. Another Aircall company's integration takes the Jobber account over.
    holder, holder_token = world.install(theirs)
    world.connect(holder)
    batch3 = world.calls(theirs, seed=3, first_call_id=1_720_000_000)
    outcomes |= deliver(ingest, r, batch3, [holder_token])

    # 4. The older integrations are uninstalled; the holder keeps its connection, and keeps logging.
    for older in (first, second):
        delete_integration(older, "Deleted by an operator")
    batch4 = world.calls(theirs, seed=4, first_call_id=1_730_000_000)
    outcomes |= deliver(ingest, r, batch4, [holder_token])

    accounts = requests.get(f"{vendors.jobber}/_sandbox/accounts", timeout=5).json()
    connected = next(a for a in accounts if a["id"] == world.account["id"])["connected"]
    live = store_for().require(holder)
    answers = bool(jobber_for(live).account().id) if connected else False
    notes = notes_per_call(vendors.jobber)
    reinstall_doubled = sum(1 for call_id in again if notes.get(call_id, 0) > 1)
    calls = {
        str(e["data"]["id"]): str(e["data"]["id"])
        for b in (batch1, batch2, batch3, batch4)
        for e in b
        if e["event"] == "call.ended"
    }
    result = account_calls(
        f"lifecycle install→reinstall→takeover→uninstall ({reading})",
        r,
        vendors.jobber,
        calls,
        outcomes=outcomes,
        holder_connected=connected and answers,
        holder_status=live.status,
        reinstall_doubled=reinstall_doubled,
    )

    assert connected and answers and live.status == "active", result.line()
    assert result.lost == 0, result.line()
    assert result.doubled == reinstall_doubled, result.line()  # no double outside the reinstall part
    # THE REINSTALL PART: calls logged before a reinstall, delivered again to the new install, must not
    # be logged twice. That needs the idempotency records keyed on the Jobber account and Aircall company
    # rather than on the integration (the "reinstall" change of issue 16); until it is merged this assertion
    # fails alone.
    assert reinstall_doubled == 0, f"reinstall part: {reinstall_doubled} calls logged twice; {result.line()}"
    assert result.logged_once == len(calls), result.line()
