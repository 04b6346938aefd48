"""POST /webhooks/jobber: signature, payload, dedupe; client changes drop cached matches; APP_DISCONNECT
deactivates the integration (SPEC F5, F10). The sandbox Jobber sends real signed webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time

import pytest
import requests

from sandbox.scenarios import payloads as p
from store import keys
from store.ledger import Ledger
from tests.support.poll import until
from tests.support.tenants import make_tenant

pytestmark = pytest.mark.flow

SECRET = "sandbox-client-secret"
LINE = p.number_object(789, e164="+14155550199", name="Support line")
AGENT = p.user_object(456, name="Madelaine Dupont", email="madelaine@acme.com")
CALLER = "+14155550100"
_ids = itertools.count(7_100_000_001)


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {"Content-Type": "application/json", "X-Jobber-Hmac-SHA256": digest}


def webhook(
    topic: str,
    account: str,
    item: str = "Z2lkOi8vSm9iYmVyL0NsaWVudC8x",
    occurred: str = "2026-01-01T00:00:00Z",
) -> bytes:
    return json.dumps(
        {
            "data": {
                "webHookEvent": {
                    "topic": topic,
                    "appId": "app",
                    "accountId": account,
                    "itemId": item,
                    "occurredAt": occurred,
                }
            }
        }
    ).encode()


def post(url: str, body: bytes, headers: dict[str, str]) -> requests.Response:
    return requests.post(f"{url}/webhooks/jobber", data=body, headers=headers, timeout=5)


@pytest.fixture
def jobber(vendors, ingest_url):
    account = requests.post(f"{vendors.jobber}/_sandbox/accounts", json={"name": "Acme"}, timeout=5).json()
    account["base"] = vendors.jobber
    requests.post(
        f"{vendors.jobber}/_sandbox/webhooks", json={"url": f"{ingest_url}/webhooks/jobber"}, timeout=5
    )
    yield account
    requests.post(f"{vendors.jobber}/_sandbox/webhooks", json={"url": None}, timeout=5)


@pytest.mark.parametrize(
    ("make", "status", "reason"),
    [
        (lambda b: {"Content-Type": "application/json"}, 401, "bad_signature"),
        (lambda b: signed(b, "not-the-secret"), 401, "bad_signature"),
        (
            lambda b: {**signed(b), "X-Jobber-Hmac-SHA256": "x" + signed(b)["X-Jobber-Hmac-SHA256"]},
            401,
            "bad_signature",
        ),
    ],
    ids=["missing", "wrong-secret", "tampered"],
)
def test_bad_signatures_are_refused_and_change_nothing(r, ingest_url, make, status, reason):
    tenant = make_tenant()
    account = r.hgetall(keys.integration(tenant.id))["jobber_account_id"]
    body = webhook("APP_DISCONNECT", account)
    response = post(ingest_url, body, make(body))
    assert response.status_code == status
    assert not list(r.scan_iter(keys.event("*")))
    assert r.hget(keys.integration(tenant.id), "status") == "active"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{nope", 400),
        (b'{"data": {}}', 400),
        (json.dumps({"data": {"webHookEvent": {"topic": "CLIENT_UPDATE"}}}).encode(), 400),
    ],
    ids=["bad-json", "no-event", "no-account"],
)
def test_signed_but_unusable_payloads_are_400(r, ingest_url, body, status):
    assert post(ingest_url, body, signed(body)).status_code == status


def test_unknown_accounts_and_topics_are_acknowledged_and_ignored(r, ingest_url):
    tenant = make_tenant()
    account = r.hgetall(keys.integration(tenant.id))["jobber_account_id"]
    unknown_account = webhook("CLIENT_UPDATE", "someone-else")
    other_topic = webhook("INVOICE_CREATE", account)
    assert post(ingest_url, unknown_account, signed(unknown_account)).json()["status"] == "ignored"
    assert post(ingest_url, other_topic, signed(other_topic)).json()["status"] == "ignored"
    assert not list(r.scan_iter(keys.event("*")))


def test_redeliveries_are_claimed_once_and_occuredAt_is_accepted(r, ingest_url):
    tenant = make_tenant()
    account = r.hgetall(keys.integration(tenant.id))["jobber_account_id"]
    r.hset(
        keys.integration(tenant.id), "status", "inactive"
    )  # nothing runs: the ledger alone shows the claims
    body = json.dumps(
        {
            "data": {
                "webHookEvent": {
                    "topic": "CLIENT_UPDATE",
                    "accountId": account,
                    "itemId": "c1",
                    "occuredAt": "2025-06-01T16:31:36-06:00",
                }
            }
        }
    ).encode()
    statuses = [post(ingest_url, body, signed(body)).json()["status"] for _ in range(3)]
    assert statuses == ["skipped", "duplicate", "duplicate"]


def call_ended(token: str, external: str = CALLER) -> list[dict]:
    events = p.inbound_answered_call(
        next(_ids),
        token=token,
        number=LINE,
        external=external,
        agent=AGENT,
        started_at=int(time.time()),
        comments=(),
        tags=(),
    )
    return [e for e in events if e["event"] == "call.ended"]


def log_call(ingest_url, r, token, outcome: str = "done") -> str:
    event_id = requests.post(f"{ingest_url}/webhooks/aircall", json=call_ended(token)[0], timeout=5).json()[
        "id"
    ]
    until(lambda: (Ledger(r).get(event_id) or {}).get("outcome") == outcome, what=f"call {outcome}")
    return event_id


def notes(jobber, client_id) -> int:
    state = requests.get(
        f"{jobber['base']}/_sandbox/state", params={"account_id": jobber["account"]["id"]}, timeout=5
    ).json()
    return len(next(c for c in state["accounts"][0]["clients"] if c["id"] == client_id)["notes"])


def test_a_new_client_with_a_cached_number_takes_over_its_calls(r, ingest_url, worker, jobber):
    base, account_id = jobber["base"], jobber["account"]["id"]
    old = requests.post(
        f"{base}/_sandbox/accounts/{account_id}/clients",
        json={"firstName": "Old", "lastName": "Owner", "phones": [{"number": CALLER}]},
        timeout=5,
    ).json()
    tenant = make_tenant(jobber=jobber)
    log_call(ingest_url, r, tenant.webhook_token)
    assert r.exists(f"aj:phone:{account_id}:{CALLER}")

    new = requests.post(
        f"{base}/_sandbox/accounts/{account_id}/clients",
        json={"firstName": "New", "lastName": "Owner", "phones": [{"number": "415-555-0100"}]},
        timeout=5,
    ).json()
    until(
        lambda: not r.exists(f"aj:phone:{account_id}:{CALLER}"), what="CLIENT_CREATE to drop the cached match"
    )
    log_call(ingest_url, r, tenant.webhook_token)

    assert (notes(jobber, old["id"]), notes(jobber, new["id"])) == (1, 1)


def _settled(r, event: str) -> bool:  # type: ignore[no-untyped-def]
    entries = [r.hgetall(k) for k in r.scan_iter("aj:ev:*") if not k.endswith(":log")]
    return any(e.get("event") == event and e.get("outcome") in ("done", "skipped") for e in entries)


def test_editing_or_deleting_a_client_in_jobber_drops_its_cached_numbers(r, ingest_url, worker, jobber):
    base, account_id = jobber["base"], jobber["account"]["id"]
    tenant = make_tenant(jobber=jobber)
    client = requests.post(
        f"{base}/_sandbox/accounts/{account_id}/clients",
        json={"firstName": "Dana", "lastName": "Lopez", "phones": [{"number": CALLER}]},
        timeout=5,
    ).json()
    # The client's own CLIENT_CREATE is handled first, so it cannot drop the match the call below caches.
    until(lambda: _settled(r, "jobber.CLIENT_CREATE"), what="CLIENT_CREATE handled")
    log_call(ingest_url, r, tenant.webhook_token)
    cached = f"aj:phone:{account_id}:{CALLER}"
    assert r.exists(cached)

    requests.patch(
        f"{base}/_sandbox/clients/{client['id']}", json={"phones": [{"number": "+14155550111"}]}, timeout=5
    )
    until(lambda: not r.exists(cached), what="CLIENT_UPDATE to drop the cached match")

    # The number has no client any more (creation is off): the stale match is not used.
    skipped = log_call(ingest_url, r, tenant.webhook_token, outcome="skipped")
    assert "no Jobber client has +14155550100" in Ledger(r).get(skipped)["reason"]
    assert notes(jobber, client["id"]) == 1


@pytest.mark.parametrize(
    ("edit", "kept"),
    [({"lastName": "Lopez-Diaz"}, True), ({"isArchived": True}, False)],
    ids=["renamed", "archived"],
)
def test_an_update_keeps_the_clients_own_numbers_cached_unless_it_was_archived(
    r, ingest_url, worker, jobber, edit, kept
):
    """The client just updated is the newest client with its numbers: their entries stay (a client we just
    created stays its number's match while Jobber's search does not show it yet), unless
    it no longer counts."""
    base, account_id = jobber["base"], jobber["account"]["id"]
    tenant = make_tenant(jobber=jobber)
    client = requests.post(
        f"{base}/_sandbox/accounts/{account_id}/clients",
        json={"firstName": "Dana", "lastName": "Lopez", "phones": [{"number": CALLER}]},
        timeout=5,
    ).json()
    until(lambda: _settled(r, "jobber.CLIENT_CREATE"), what="CLIENT_CREATE handled")
    log_call(ingest_url, r, tenant.webhook_token)
    cached = f"aj:phone:{account_id}:{CALLER}"
    assert r.exists(cached)

    requests.patch(f"{base}/_sandbox/clients/{client['id']}", json=edit, timeout=5).raise_for_status()
    until(lambda: _settled(r, "jobber.CLIENT_UPDATE"), what="CLIENT_UPDATE handled")

    assert bool(r.exists(cached)) is kept


def test_disconnect_inside_jobber_deactivates_the_integration(r, ingest_url, worker, jobber):
    from click.testing import CliRunner

    from cli import main as ajctl

    tenant = make_tenant(jobber=jobber)
    requests.post(f"{jobber['base']}/_sandbox/accounts/{jobber['account']['id']}/disconnect", timeout=5)

    until(lambda: r.hget(keys.integration(tenant.id), "status") == "inactive", what="APP_DISCONNECT")
    shown = json.loads(CliRunner().invoke(ajctl, ["integrations", "show", tenant.id, "--json"]).stdout)
    assert shown["message"] == "Disconnected from Jobber — reinstall the integration to resume"
    assert "jobber_access_token_enc" not in r.hkeys(keys.integration(tenant.id))
    later = requests.post(
        f"{ingest_url}/webhooks/aircall", json=call_ended(tenant.webhook_token)[0], timeout=5
    )
    assert later.status_code == 200 and later.json()["status"] == "skipped"


def test_a_disconnect_learnt_from_the_api_deactivates_the_integration_without_a_refresh(
    r, ingest_url, worker, jobber
):
    """APP_DISCONNECT was lost (Jobber never reports failed webhooks): the next call's Jobber request answers
    401 "User has disconnected this app..." (jobber-api.md §1.3). That is a disconnect,
    not an expired token."""
    from click.testing import CliRunner

    from cli import main as ajctl

    tenant = make_tenant(jobber=jobber)
    requests.post(
        f"{jobber['base']}/_sandbox/accounts/{jobber['account']['id']}/disconnect",
        json={"webhook": False},
        timeout=5,
    ).raise_for_status()

    event_id = log_call(ingest_url, r, tenant.webhook_token, outcome="skipped")

    shown = json.loads(CliRunner().invoke(ajctl, ["integrations", "show", tenant.id, "--json"]).stdout)
    assert (shown["status"], shown["reason"]) == ("inactive", "jobber_disconnected")
    assert shown["message"] == "Disconnected from Jobber — reinstall the integration to resume"
    assert requests.get(f"{jobber['base']}/_sandbox/token_requests", timeout=5).json() == {}  # no refresh
    assert "jobber_access_token_enc" not in r.hkeys(keys.integration(tenant.id))
    assert "User has disconnected this app" in Ledger(r).show(event_id)["skips"][-1]["reason"]
    assert requests.get(f"{jobber['base']}/_sandbox/webhooks", timeout=5).json()["deliveries"] == []
