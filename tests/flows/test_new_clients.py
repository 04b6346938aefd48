"""Never a second "Aircall new client" (SPEC F6), whatever Jobber's search and network do.

Jobber's search lags creation (jobber-api.md §5.3): the sandbox keeps new phones out of its searches for a
while, and sends its real CLIENT_CREATE webhook to the ingest meanwhile. And `clientCreate` can commit while
its answer is lost: the sandbox commits, then answers 502 or lets the caller time out.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from sandbox.scenarios import payloads as p
from store import keys
from store.ledger import Ledger
from tests.flows.test_call_logging import AGENT, LINE, T0, add_client, clients, send, settled
from tests.support.poll import until
from tests.support.tenants import make_tenant

pytestmark = pytest.mark.flow

NEW_NUMBER = "+14155550177"
LAG_S = 120  # longer than any test here: the search never shows the new client while they run
_ids = itertools.count(7_300_000_001)


@pytest.fixture
def jobber(vendors, ingest_url):
    """A sandbox account whose webhooks reach the ingest, searched with the lenient default reading."""
    account = requests.post(f"{vendors.jobber}/_sandbox/accounts", json={"name": "Acme"}, timeout=5).json()
    account["base"] = vendors.jobber
    url = f"{ingest_url}/webhooks/jobber"
    requests.post(f"{vendors.jobber}/_sandbox/webhooks", json={"url": url}, timeout=5).raise_for_status()
    yield account
    requests.post(f"{vendors.jobber}/_sandbox/webhooks", json={"url": None}, timeout=5)


def search_lags(jobber, seconds: float) -> None:
    requests.post(
        f"{jobber['base']}/_sandbox/phone_search", json={"lag_s": seconds}, timeout=5
    ).raise_for_status()


def lose_answer(jobber, field: str, **how) -> None:
    requests.post(
        f"{jobber['base']}/_sandbox/lose_answer", json={"field": field, **how}, timeout=5
    ).raise_for_status()


def with_number(jobber, e164: str) -> list[dict]:
    return [c for c in clients(jobber) if any(ph["normalizedPhoneNumber"] == e164 for ph in c["phones"])]


def missed(tenant, i: int) -> dict:
    events = p.missed_call(
        next(_ids),
        token=tenant.webhook_token,
        number=LINE,
        external=NEW_NUMBER,
        agent=None,
        started_at=T0 + i,
    )
    return next(e for e in events if e["event"] == "call.ended")


def text(tenant, i: int, direction: str) -> dict:
    message = p.message_object(
        f"SM{next(_ids)}",
        direction=direction,
        number=LINE,
        external=NEW_NUMBER,
        body=f"text {i}",
        created_at=T0 + i,
        user=AGENT if direction == "outbound" else None,
    )
    event = p.message_event(message, token=tenant.webhook_token, timestamp=T0 + i)
    event["event"] = "message.received" if direction == "inbound" else "message.sent"
    return event


def burst(ingest_url, events: list[dict]) -> list[str]:
    with ThreadPoolExecutor(len(events)) as pool:
        ids = [i for batch in pool.map(lambda e: send(ingest_url, [e], duplicates=2), events) for i in batch]
    until(lambda: settled(ids), timeout=30, what="the burst to settle")
    return ids


def client_webhooks_done(r) -> bool:
    ledger = Ledger(r)
    seen = [ledger.get(k.split(":")[-1]) or {} for k in r.scan_iter(keys.event("*")) if k.count(":") == 2]
    created = [e for e in seen if e.get("event") == "jobber.CLIENT_CREATE"]
    return bool(created) and all(e.get("outcome") not in (None, "pending") for e in created)


def test_calls_and_texts_from_one_new_number_during_the_search_lag_create_one_client(
    r, ingest_url, worker, jobber
):
    """Given a search that does not show new phones for two minutes, when calls and texts from one unknown
    number arrive together, then later (after Jobber's CLIENT_CREATE webhook for the new client was handled),
    and again after the phone cache lost the number, then one client holds every activity."""
    search_lags(jobber, LAG_S)
    tenant = make_tenant(jobber=jobber, create_missing_clients=True)

    burst(
        ingest_url,
        [missed(tenant, 0), missed(tenant, 1), text(tenant, 2, "inbound"), text(tenant, 3, "outbound")],
    )
    until(lambda: client_webhooks_done(r), timeout=30, what="Jobber's CLIENT_CREATE webhook to be handled")
    burst(ingest_url, [missed(tenant, 4), text(tenant, 5, "inbound")])
    r.delete(keys.phone(jobber["account"]["id"], NEW_NUMBER))  # the cache entry expired (its TTL is a day)
    burst(ingest_url, [missed(tenant, 6), text(tenant, 7, "outbound")])

    [created] = with_number(jobber, NEW_NUMBER)
    assert (created["firstName"], created["lastName"]) == ("Aircall", "new client")
    assert len(created["notes"]) == 8
    assert len(clients(jobber)) == 1


@pytest.mark.parametrize(
    "how", [{"status": 502}, {"hang_s": 2.0}], ids=["502 after the commit", "timeout after the commit"]
)
@pytest.mark.parametrize("lag_s", [0, LAG_S], ids=["search current", "search lagging"])
def test_a_client_created_whose_answer_was_lost_is_found_again_not_created_twice(
    r, ingest_url, worker, jobber, settings_env, how, lag_s
):
    """Given clientCreate commits but its answer never arrives, when the call's retry runs (while the search
    may still not show the new client), then it adopts the client created since the attempt began."""
    settings_env.setenv("HTTP_TIMEOUT_S", "1")
    search_lags(jobber, lag_s)
    lose_answer(jobber, "clientCreate", **how)
    add_client(jobber, "Aircall", "new client", ["(415) 555-0123"])  # created in the same window: not ours
    tenant = make_tenant(jobber=jobber, create_missing_clients=True)

    [event_id] = send(ingest_url, [missed(tenant, 0)])
    until(lambda: settled([event_id]), timeout=30, what="the call to settle")

    [created] = with_number(jobber, NEW_NUMBER)
    assert len(created["notes"]) == 1
    assert len(clients(jobber)) == 2
    shown = Ledger(r).show(event_id)
    assert shown["outcome"] == "done" and [a["kind"] for a in shown["attempts"]] == ["transient"]
