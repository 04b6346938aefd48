"""Takeover and uninstall never break the live integration (issue 16): the older holder's tokens go at a
takeover, `appDisconnect` comes only from the integration that holds the account, a late or replayed
APP_DISCONNECT never wipes a newer connection, `integration.deleted` is acted on only once Aircall confirms an
OAuth uninstall, and status and token writes are conditional (never out of `deleted`, never about a connection
that is no longer the current one). Real Redis, the sandbox vendors over HTTP,
a real worker where one runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
import requests
from click.testing import CliRunner

from cli import main as ajctl
from clients import jobber_oauth
from config.integration import IntegrationSettings
from config.settings import get_settings
from flows.lifecycle import API_KEY_UNINSTALL_SKIP, connect_jobber, delete_integration, install_with_oauth
from flows.vendors import jobber_for, mark_jobber_disconnected, refresh_jobber, store_for
from sandbox.redis_server import RedisServer
from sandbox.scenarios import payloads as p
from store import keys
from store.integrations import IntegrationStore, JobberAccount
from store.ledger import Ledger
from store.replication import NotReplicated
from tests.flows.test_jobber_webhooks import jobber, post, signed, webhook  # noqa: F401 (fixture)
from tests.flows.test_replica_ack import TOKEN as REPLICA_TOKEN
from tests.flows.test_replica_ack import acking, pair  # noqa: F401 (fixtures)
from tests.support.events import outcome
from tests.support.payloads import call_event
from tests.support.poll import until
from tests.support.tenants import make_tenant

pytestmark = pytest.mark.flow


def store(r: Any) -> IntegrationStore:
    return IntegrationStore(r, get_settings().secret_key())


def connected_in_jobber(base: str, account_id: str) -> bool:
    accounts = requests.get(f"{base}/_sandbox/accounts", timeout=5).json()
    return bool(next(a for a in accounts if a["id"] == account_id)["connected"])


def works(integration_id: str) -> bool:
    """The integration's Jobber tokens are accepted by Jobber now."""
    found = store_for().require(integration_id)
    return bool(jobber_for(found).account().id)


def last_skip(r: Any, event_id: str) -> str:
    return str(Ledger(r).show(event_id)["skips"][-1]["reason"])


# ---- takeover, then deleting the older integration ---------------------------------------------------------


def test_deleting_the_older_integration_never_disconnects_the_one_that_took_the_account(r, vendors):
    # Given an integration connected to a Jobber account, and a second connection of the same account made
    # for another integration (the reading where Jobber keeps both grants alive, jobber-api.md §2.5)
    account = requests.post(f"{vendors.jobber}/_sandbox/accounts", json={"name": "Acme"}, timeout=5).json()
    account_id = account["account"]["id"]
    older = make_tenant(jobber=account)
    second = requests.post(
        f"{vendors.jobber}/_sandbox/tokens", json={"account_id": account_id}, timeout=5
    ).json()
    newer = make_tenant(active=False)

    # When the newer one takes the account over
    taken = connect_jobber(newer.id, second["access_token"], second["refresh_token"])

    # Then the older one keeps no Jobber token, and deleting it leaves the account connected to the newer one
    assert any(older.id in w for w in taken.warnings)
    moved = store(r).require(older.id)
    assert (moved.status, moved.reason) == ("inactive", "jobber_account_moved")
    assert not {"jobber_access_token_enc", "jobber_refresh_token_enc"} & set(
        r.hkeys(keys.integration(older.id))
    )
    delete_integration(older.id, "test")
    assert connected_in_jobber(vendors.jobber, account_id)
    assert works(newer.id)
    assert store(r).require(newer.id).status == "active"


# ---- APP_DISCONNECT: late, retried, replayed --------------------------------------------------------------


def test_a_disconnect_dated_before_the_current_connection_is_ignored(r, ingest_url, worker, jobber):  # noqa: F811
    # Given an integration connected now
    tenant = make_tenant(jobber=jobber)
    account_id = jobber["account"]["id"]
    before = requests.get(f"{jobber['base']}/_sandbox/accounts", timeout=5).json()

    # When an APP_DISCONNECT from two hours ago arrives (a late retry, or a replay)
    old = (datetime.now(UTC) - timedelta(hours=2)).isoformat(timespec="seconds")
    body = webhook("APP_DISCONNECT", account_id, item=account_id, occurred=old)
    event_id = post(ingest_url, body, signed(body)).json()["id"]
    until(lambda: outcome(event_id) == "skipped", what="the disconnect to settle")

    # Then nothing changes, and Jobber was not even asked
    kept = store(r).require(tenant.id)
    assert kept.status == "active" and store(r).secrets(tenant.id).jobber_refresh_token
    assert "predates the current Jobber connection" in last_skip(r, event_id)
    after = requests.get(f"{jobber['base']}/_sandbox/accounts", timeout=5).json()
    assert [a["graphql_requests"] for a in after] == [a["graphql_requests"] for a in before]


def test_a_recent_looking_disconnect_is_confirmed_with_jobber_first(r, ingest_url, worker, jobber):  # noqa: F811
    # Given an integration whose connection Jobber still honours
    tenant = make_tenant(jobber=jobber)
    account_id = jobber["account"]["id"]

    # When an APP_DISCONNECT dated now arrives
    # (a forged-looking replay, or one for a connection replaced since)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    body = webhook("APP_DISCONNECT", account_id, item=account_id, occurred=now)
    event_id = post(ingest_url, body, signed(body)).json()["id"]
    until(lambda: outcome(event_id) == "skipped", what="the disconnect to settle")

    # Then Jobber still answers the tokens: they stay, and so does the integration
    assert "Jobber still answers the current connection" in last_skip(r, event_id)
    assert store(r).require(tenant.id).status == "active"
    assert works(tenant.id)


def test_a_real_disconnect_after_a_reconnect_is_still_recorded(r, ingest_url, worker, jobber):  # noqa: F811
    # Given an integration that reconnected its account (a new connection, newer than any earlier disconnect)
    tenant = make_tenant(jobber=jobber)
    account_id = jobber["account"]["id"]
    again = requests.post(
        f"{jobber['base']}/_sandbox/tokens",
        json={"account_id": account_id, "revoke_previous": True},
        timeout=5,
    ).json()
    connect_jobber(tenant.id, again["access_token"], again["refresh_token"])

    # When the user disconnects the app inside Jobber (the sandbox sends APP_DISCONNECT, dated now)
    requests.post(f"{jobber['base']}/_sandbox/accounts/{account_id}/disconnect", timeout=5).raise_for_status()

    # Then the integration is inactive with SPEC F10's message and its dead tokens are gone
    until(lambda: store(r).require(tenant.id).status == "inactive", what="APP_DISCONNECT")
    gone = store(r).require(tenant.id)
    assert gone.message == "Disconnected from Jobber — reinstall the integration to resume"
    assert "jobber_access_token_enc" not in r.hkeys(keys.integration(tenant.id))


# ---- integration.deleted -----------------------------------------------------------------------------------


def oauth_install(vendors) -> tuple[dict[str, Any], str, str]:
    """An Aircall partner (OAuth) install: (company, integration id, its webhook token)."""
    company = requests.post(f"{vendors.aircall}/_sandbox/companies", json={"name": "Acme"}, timeout=5).json()
    token = requests.post(
        f"{vendors.aircall}/_sandbox/companies/{company['id']}/oauth_token", timeout=5
    ).json()
    installed = install_with_oauth(token["access_token"]).integration
    return company, installed.id, aircall_webhook(vendors, company["id"])["token"]


def aircall_webhook(vendors, company_id: int) -> dict[str, Any]:
    state = requests.get(f"{vendors.aircall}/_sandbox/state", timeout=5).json()
    [found] = next(c for c in state["companies"] if c["id"] == company_id)["webhooks"]
    return dict(found)


def uninstalled(ingest_url: str, token: str, company_id: int, at: int, aircall_id: int = 42) -> str:
    body = p.integration_deleted(token=token, timestamp=at, company_id=company_id, integration_id=aircall_id)
    answer = requests.post(f"{ingest_url}/webhooks/aircall", json=body, timeout=5)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"])


@pytest.mark.parametrize("revoke_tokens", [True, False], ids=["tokens-refused", "tokens-still-work"])
def test_integration_deleted_is_acted_on_once_aircall_confirms_the_uninstall(
    r, ingest_url, worker, vendors, revoke_tokens
):
    company, integration_id, token = oauth_install(vendors)

    # An `integration.deleted` while Aircall still answers the install's token (anyone who read the webhook
    # token can send one): nothing is torn down.
    forged = uninstalled(ingest_url, token, company["id"], 1_790_000_000)
    until(lambda: outcome(forged) == "skipped", what="the unconfirmed uninstall")
    assert "Aircall still answers this install's token" in last_skip(r, forged)
    assert store(r).require(integration_id).status != "deleted"

    # The admin uninstalls in Aircall: whether Aircall then refuses the token is UNCONFIRMED; both readings.
    requests.post(
        f"{vendors.aircall}/_sandbox/companies/{company['id']}/uninstall",
        json={"revoke_tokens": revoke_tokens},
        timeout=5,
    ).raise_for_status()
    real = uninstalled(ingest_url, token, company["id"], 1_790_000_100, aircall_id=43)

    if revoke_tokens:
        # (the purge that follows the delete removes the tenant's ledger entries, this one included)
        until(lambda: store(r).require(integration_id).status == "deleted", what="the uninstall")
    else:  # Aircall cannot confirm it: left to an operator, and said so
        until(lambda: outcome(real) == "skipped", what="the unconfirmed uninstall")
        assert "ajctl integrations delete" in last_skip(r, real)
        assert store(r).require(integration_id).status != "deleted"


def test_integration_deleted_for_an_api_key_install_is_skipped_with_its_reason(
    r, ingest_url, worker, vendors
):
    company = requests.post(f"{vendors.aircall}/_sandbox/companies", json={"name": "Acme"}, timeout=5).json()
    account = requests.post(f"{vendors.jobber}/_sandbox/accounts", json={"name": "Acme"}, timeout=5).json()
    created = json.loads(
        CliRunner()
        .invoke(
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
        .stdout
    )
    token = aircall_webhook(vendors, company["id"])["token"]

    event_id = uninstalled(ingest_url, token, company["id"], 1_790_000_000)

    until(lambda: outcome(event_id) == "skipped", what="the uninstall event")
    assert last_skip(r, event_id) == API_KEY_UNINSTALL_SKIP
    assert store(r).require(created["id"]).status == "active"
    assert connected_in_jobber(vendors.jobber, account["account"]["id"])


# ---- conditional writes: the races -------------------------------------------------------------------------


def expiring_account(vendors) -> dict[str, Any]:
    """A sandbox account whose first access token is already about to expire (the next use refreshes)."""
    body = {"name": "Acme", "access_token_ttl_s": 1}
    account: dict[str, Any] = requests.post(
        f"{vendors.jobber}/_sandbox/accounts", json=body, timeout=5
    ).json()
    return account


def test_a_refused_refresh_never_brings_a_deleted_integration_back(r, vendors, monkeypatch):
    account = expiring_account(vendors)
    tenant = make_tenant(jobber=account)
    integration = store(r).require(tenant.id)
    from clients.errors import Disconnected

    def refused_while_deleted(*_: Any, **__: Any) -> Any:
        store(r).mark_deleted(tenant.id, "Uninstalled")  # the delete lands while the refresh is on its way
        raise Disconnected("invalid_grant", vendor="jobber", status=401)

    monkeypatch.setattr(jobber_oauth, "refresh", refused_while_deleted)
    with pytest.raises(Disconnected):
        refresh_jobber(integration, stale=account["access_token"], settings=get_settings())

    assert store(r).require(tenant.id).status == "deleted"


def test_a_refused_refresh_never_overwrites_a_reconnect_made_meanwhile(r, vendors, monkeypatch):
    account = expiring_account(vendors)
    tenant = make_tenant(jobber=account)
    integration = store(r).require(tenant.id)
    fresh = requests.post(
        f"{vendors.jobber}/_sandbox/tokens", json={"account_id": account["account"]["id"]}, timeout=5
    ).json()
    from clients.errors import Disconnected

    def refused_after_a_reconnect(*_: Any, **__: Any) -> Any:
        connect_jobber(tenant.id, fresh["access_token"], fresh["refresh_token"])
        raise Disconnected("invalid_grant", vendor="jobber", status=401)

    monkeypatch.setattr(jobber_oauth, "refresh", refused_after_a_reconnect)
    with pytest.raises(Disconnected):
        refresh_jobber(integration, stale=account["access_token"], settings=get_settings())

    now = store(r).require(tenant.id)
    assert now.status == "active" and store(r).secrets(tenant.id).jobber_access_token == fresh["access_token"]


def test_a_rotated_pair_is_not_written_into_a_deleted_integration(r, vendors, monkeypatch):
    account = expiring_account(vendors)
    tenant = make_tenant(jobber=account)
    integration = store(r).require(tenant.id)
    from clients.errors import Disconnected

    real_refresh = jobber_oauth.refresh

    def refreshed_while_deleted(*args: Any, **kwargs: Any) -> Any:
        rotated = real_refresh(*args, **kwargs)
        store(r).mark_deleted(tenant.id, "Uninstalled")
        return rotated

    monkeypatch.setattr(jobber_oauth, "refresh", refreshed_while_deleted)
    with pytest.raises(Disconnected):
        refresh_jobber(integration, stale=account["access_token"], settings=get_settings())

    assert not [f for f in r.hkeys(keys.integration(tenant.id)) if f.endswith("_enc")]


def test_a_disconnect_about_an_older_connection_leaves_the_current_one(r, vendors):
    account = requests.post(f"{vendors.jobber}/_sandbox/accounts", json={"name": "Acme"}, timeout=5).json()
    tenant = make_tenant(jobber=account)
    older_connection = store(r).require(tenant.id).jobber_connection
    fresh = requests.post(
        f"{vendors.jobber}/_sandbox/tokens", json={"account_id": account["account"]["id"]}, timeout=5
    ).json()
    connect_jobber(tenant.id, fresh["access_token"], fresh["refresh_token"])

    # Jobber's "User has disconnected this app" for a token of the older connection, met by a task in flight
    assert mark_jobber_disconnected(tenant.id, connection=older_connection) is False

    assert store(r).require(tenant.id).status == "active" and works(tenant.id)


# ---- a rotated token pair is never lost --------------------------------------------------------------------


class FailsOnce(redis.Redis):
    """The suite's Redis, whose first write to one key fails as a dropped connection would."""

    def __init__(self, r: redis.Redis, key: str):
        super().__init__(connection_pool=r.connection_pool)
        self.key, self.failed = key, False

    def execute_command(self, *args: Any, **options: Any) -> Any:
        writes = ("HSET", "HMSET", "EVAL", "EVALSHA")
        if not self.failed and args and str(args[0]).upper() in writes and self.key in args:
            self.failed = True
            raise redis.exceptions.ConnectionError("injected: connection lost before the write")
        return super().execute_command(*args, **options)


def test_a_rotated_pair_survives_a_redis_write_that_fails_once(r, vendors, monkeypatch):
    # Given an integration whose access token needs a refresh, and a Redis that drops the next write to it
    account = expiring_account(vendors)
    tenant = make_tenant(jobber=account)
    flaky = FailsOnce(r, keys.integration(tenant.id))
    import flows.vendors

    monkeypatch.setattr(
        flows.vendors, "store_for", lambda settings=None: IntegrationStore(flaky, get_settings().secret_key())
    )

    # When the token is refreshed (Jobber rotates the pair: the old refresh token is dead from now on)
    token = refresh_jobber(
        store(r).require(tenant.id), stale=account["access_token"], settings=get_settings()
    )

    # Then the new pair is what Redis holds, and its refresh token is the live one
    assert flaky.failed
    saved = store(r).secrets(tenant.id)
    assert saved.jobber_access_token == token
    settings = get_settings()
    again = jobber_oauth.refresh(
        settings.JOBBER_OAUTH_URL,
        settings.JOBBER_CLIENT_ID or "",
        settings.JOBBER_CLIENT_SECRET.get_secret_value() if settings.JOBBER_CLIENT_SECRET else "",
        saved.jobber_refresh_token or "",
        timeout=5,
    )
    assert again.access_token


def test_a_rotated_pair_is_on_a_replica_before_it_is_used():
    master = RedisServer()
    replica = RedisServer(replica_of=master)
    try:
        secret = get_settings().secret_key()
        acking = IntegrationStore(master.client(), secret, wait_replicas=1, wait_timeout_ms=1000)
        integration = acking.create(
            aircall_api_id="a",
            aircall_token="t",
            aircall_auth="basic",
            aircall_company_id="1",
            settings=IntegrationSettings(),
        )
        acking.connect_jobber(integration.id, JobberAccount("acct-1", "Acme"), "access-1", "refresh-1")
        connection = acking.require(integration.id).jobber_connection or ""

        assert acking.save_rotated_pair(integration.id, connection, "access-2", "refresh-2")
        # No polling: the save returning is the promise that the replica holds the pair.
        assert (
            IntegrationStore(replica.client(), secret).secrets(integration.id).jobber_refresh_token
            == "refresh-2"
        )

        replica.freeze()  # connected, never acknowledging: a slow or partitioned replica
        with pytest.raises(NotReplicated):
            acking.save_rotated_pair(integration.id, connection, "access-3", "refresh-3")
        assert (
            acking.secrets(integration.id).jobber_refresh_token == "refresh-3"
        )  # on the master: the retry uses it
    finally:
        replica.thaw()
        replica.stop()
        master.stop()


def test_a_deleted_integrations_late_delivery_is_acknowledged_under_replica_acks(pair, acking):  # noqa: F811
    """A late delivery for a deleted integration is stored nowhere (store/ledger.py); with REDIS_WAIT_REPLICAS
    the ingest still answers 200, confirming the tombstone instead of an event."""
    master, _ = pair
    on_master = IntegrationStore(master.client(), get_settings().secret_key())
    integration_id = on_master.id_for_webhook_token(REPLICA_TOKEN) or ""
    assert on_master.mark_deleted(integration_id, "Uninstalled")

    answer = requests.post(f"{acking}/webhooks/aircall", json=call_event(REPLICA_TOKEN), timeout=5)

    assert answer.status_code == 200 and answer.json()["status"] == "skipped", answer.text
    assert not [k for k in master.client().scan_iter("aj:ev:*")]
