"""A Jobber connection started from Jobber's side (issue 15, SPEC §2): the App Marketplace's Connect button
arrives at our callback with a code and no `state`. It is held (encrypted, for this browser only) until a
signed-in admin attaches it, with the same one-connection-per-account rules as every connect; "Don't attach"
and expiry disconnect it in Jobber. Jobber's Manage App button lands on the settings page or on how to sign
in. Real Redis, the sandbox vendors over HTTP, a cookie-keeping HTTP session as the browser."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any

import pytest
import requests

from config.settings import get_settings
from store.integrations import IntegrationStore
from store.pending_jobber import PendingConnections
from tests.support.admin import (
    csrf,
    jobber_account_state,
    link_for,
    marketplace_connect,
    sign_in,
    unconnected_account,
)
from tests.support.tenants import make_tenant

pytestmark = pytest.mark.flow

PENDING_COOKIE = "aj_jobber_pending"


def store(r: Any) -> IntegrationStore:
    return IntegrationStore(r, get_settings().secret_key())


def pending(r: Any) -> PendingConnections:
    return PendingConnections(r, get_settings().secret_key())


def connected_in_jobber(site: Any, account_id: str) -> bool:
    return bool(jobber_account_state(site, account_id)["connected"])


def everything_stored(r: Any) -> str:
    """Every key and value in Redis, as one text (to look for a token in)."""
    read = {
        "string": lambda key: r.get(key),
        "hash": lambda key: r.hgetall(key),
        "list": lambda key: r.lrange(key, 0, -1),
        "set": lambda key: r.smembers(key),
        "zset": lambda key: r.zrange(key, 0, -1, withscores=True),
    }
    return "\n".join(f"{key} {read.get(r.type(key), lambda _: '')(key)}" for key in r.scan_iter())


def offer(page: requests.Response) -> str:
    """The words of the settings page's offer of a waiting Jobber connection ("" when there is none)."""
    found = re.search(r'<section class="card warn" id="confirm-jobber">(.*?)</section>', page.text, re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split()) if found else ""


def decide(site: Any, browser: requests.Session, page: requests.Response, decision: str) -> requests.Response:
    data = {"csrf_token": csrf(page), "decision": decision}
    return browser.post(f"{site.url}/settings/jobber/confirm", data=data, timeout=10)


def test_a_marketplace_connect_is_held_encrypted_and_attached_to_nothing(r, site):
    # Given an integration already connected to a Jobber account of its own
    other_account = requests.post(
        f"{site.jobber}/_sandbox/accounts", json={"name": "Bravo"}, timeout=5
    ).json()
    other = make_tenant(jobber=other_account)
    before = r.hgetall(f"aj:int:{other.id}")
    account = unconnected_account(site, "Acme Plumbing")
    browser = requests.Session()

    # When a Jobber admin clicks Connect in the App Marketplace (no state comes back with the code)
    landed = marketplace_connect(site, browser, account["id"])

    # Then the browser, not signed in, lands on how to sign in, with the connection waiting for it
    callback = next(h for h in landed.history if h.url.startswith(f"{site.url}/oauth/jobber/callback"))
    assert "code=" in callback.url and "state=" not in callback.url
    assert landed.url == f"{site.url}/jobber/sign-in" and "code" not in landed.url
    assert "Acme Plumbing" in landed.text and "ready to connect" in landed.text
    assert "/install/aircall" in landed.text and "sign-in link" in landed.text
    cookie = callback.headers["set-cookie"]
    assert f"{PENDING_COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert callback.headers["referrer-policy"] == "no-referrer"
    # ... the grant exists in Jobber, held in Redis encrypted (no token in any value), attached to nothing
    assert connected_in_jobber(site, account["id"])
    held = pending(r).peek(browser.cookies[PENDING_COOKIE])
    assert held is not None and held.account_id == account["id"] and held.from_marketplace
    blob = everything_stored(r)
    assert held.access_token not in blob and held.refresh_token not in blob
    assert browser.cookies[PENDING_COOKIE] not in blob  # only its digest is a key
    assert r.hget("aj:jobber_accounts", account["id"]) is None
    assert r.hgetall(f"aj:int:{other.id}") == before  # no integration's tokens or status changed


def test_a_signed_in_admin_attaches_it_after_signing_in_with_a_link(r, site, worker):
    waiting = make_tenant(active=False)  # installed from Aircall, Jobber not connected yet
    account = unconnected_account(site, "Acme Plumbing")
    browser = requests.Session()
    marketplace_connect(site, browser, account["id"])

    page = sign_in(browser, link_for(waiting.id))

    assert page.url == f"{site.url}/settings"
    assert "Jobber account Acme Plumbing is ready to connect to this integration." in offer(page)
    assert "⚠" not in offer(page)  # nothing to warn about
    assert store(r).require(waiting.id).jobber_account is None  # shown, not attached
    done = decide(site, browser, page, "connect")
    assert done.url == f"{site.url}/settings?connected=1" and "Connected to Jobber" in done.text
    connected = store(r).require(waiting.id)
    assert connected.status == "active" and connected.jobber_account.id == account["id"]
    assert r.hget("aj:jobber_accounts", account["id"]) == waiting.id
    # The tokens it was given work (refreshed on attach), and the waiting copy is gone.
    from flows.vendors import jobber_for

    assert jobber_for(connected).account().id == account["id"]
    assert list(r.scan_iter("aj:jobber_pending:*")) == [] and PENDING_COOKIE not in browser.cookies
    assert "ready to connect" not in browser.get(f"{site.url}/settings", timeout=10).text


def test_an_admin_already_signed_in_goes_straight_to_the_offer(r, site):
    waiting = make_tenant(active=False)
    account = unconnected_account(site, "Acme Plumbing")
    browser = requests.Session()
    sign_in(browser, link_for(waiting.id))

    landed = marketplace_connect(site, browser, account["id"])

    assert landed.url == f"{site.url}/settings#confirm-jobber"
    assert "ready to connect to this integration" in landed.text
    assert store(r).require(waiting.id).jobber_account is None


@pytest.mark.parametrize("before", ["held_by_another_integration", "integration_had_another_account"])
def test_attaching_an_account_that_changes_hands_warns_and_needs_the_click(r, site, worker, before):
    account = unconnected_account(site, "Acme Plumbing")
    if before == "held_by_another_integration":
        # The other integration still counts as live here: Jobber's disconnect never reached us.
        holder = make_tenant(jobber={"account": account, "access_token": "dead", "refresh_token": "dead"})
        admin = make_tenant(active=False)
        warning = "is connected to another Aircall integration"
    else:
        bravo = requests.post(f"{site.jobber}/_sandbox/accounts", json={"name": "Bravo"}, timeout=5).json()
        admin = make_tenant(jobber=bravo)
        warning = "logs to the Jobber account “Bravo” today"
    account_before = store(r).require(admin.id).jobber_account
    browser = requests.Session()
    marketplace_connect(site, browser, account["id"])

    page = sign_in(browser, link_for(admin.id))

    assert warning in offer(page)
    assert store(r).require(admin.id).jobber_account == account_before  # nothing changes before the click
    done = decide(site, browser, page, "connect")
    assert done.url.endswith("?connected=1")
    assert store(r).require(admin.id).jobber_account.id == account["id"]
    if before == "held_by_another_integration":
        moved = store(r).require(holder.id)
        assert moved.status == "inactive" and moved.reason == "jobber_account_moved"


def test_dont_attach_disconnects_the_grant_in_jobber_and_says_so(r, site):
    admin = make_tenant(active=False)
    account = unconnected_account(site, "Acme Plumbing")
    browser = requests.Session()
    marketplace_connect(site, browser, account["id"])
    page = sign_in(browser, link_for(admin.id))
    assert connected_in_jobber(site, account["id"])

    declined = decide(site, browser, page, "cancel")

    assert declined.url == f"{site.url}/settings?declined=1"
    assert "Nothing was attached, and the connection was removed from that Jobber account" in declined.text
    assert not connected_in_jobber(site, account["id"])  # appDisconnect with the waiting tokens
    grants = jobber_account_state(site, account["id"])["grants"]
    assert grants and all(g["status"] == "disconnected" for g in grants)
    assert store(r).require(admin.id).jobber_account is None
    assert list(r.scan_iter("aj:jobber_pending*")) == []  # nothing held, nothing left for the sweep
    again = decide(site, browser, declined, "cancel")
    assert again.status_code == 400 and "Nothing to confirm" in again.text


def test_a_consent_nobody_attached_in_time_is_disconnected_and_cannot_be_attached(r, site):
    from flows.connect import disconnect_expired

    admin = make_tenant(active=False)
    first, second = unconnected_account(site, "Acme Plumbing"), unconnected_account(site, "Bravo Heating")
    late, forgotten = requests.Session(), requests.Session()
    marketplace_connect(site, late, first["id"])
    marketplace_connect(site, forgotten, second["id"])
    for browser in (late, forgotten):  # their hour is up
        reference = browser.cookies[PENDING_COOKIE]
        held = pending(r).take(reference)
        pending(r).hold(replace(held, hold_until=held.hold_until - 3601), reference)

    # A browser that comes back late is not offered it, cannot attach it, and it is disconnected then.
    page = sign_in(late, link_for(admin.id))
    assert "ready to connect" not in page.text
    refused = decide(site, late, page, "connect")
    assert refused.status_code == 400 and "expired" in refused.text
    assert not connected_in_jobber(site, first["id"]) and store(r).require(admin.id).jobber_account is None

    # The one nobody comes back for is disconnected by beat's sweep.
    assert connected_in_jobber(site, second["id"])
    assert disconnect_expired() == {"disconnected": 1}
    assert not connected_in_jobber(site, second["id"])
    assert list(r.scan_iter("aj:jobber_pending*")) == [] and disconnect_expired() == {}


def test_a_waiting_connection_belongs_to_the_browser_that_received_it(r, site):
    mine, theirs = make_tenant(active=False), make_tenant(active=False)
    account = unconnected_account(site, "Acme Plumbing")
    receiving, other = requests.Session(), requests.Session()
    marketplace_connect(site, receiving, account["id"])

    # Another browser, signed in to another integration, neither sees it nor can attach or decline it.
    page = sign_in(other, link_for(theirs.id))
    assert "ready to connect" not in page.text
    assert decide(site, other, page, "connect").status_code == 400
    assert decide(site, other, page, "cancel").status_code == 400
    forged = requests.Session()
    forged.cookies.update(other.cookies)
    forged.cookies.set(PENDING_COOKIE, "a-guess")
    assert decide(site, forged, page, "connect").status_code == 400
    assert store(r).require(theirs.id).jobber_account is None and connected_in_jobber(site, account["id"])

    # The browser that received it still has it.
    page = sign_in(receiving, link_for(mine.id))
    assert decide(site, receiving, page, "connect").url.endswith("?connected=1")
    assert store(r).require(mine.id).jobber_account.id == account["id"]


def test_manage_app_never_keeps_the_code_and_signs_nobody_in(r, site, caplog):
    caplog.set_level(logging.DEBUG)
    account = requests.post(f"{site.jobber}/_sandbox/accounts", json={"name": "Acme"}, timeout=5).json()
    tenant = make_tenant(jobber=account)
    manage = f"{site.jobber}/marketplace/manage"

    # Not signed in: how to sign in; the code is in no URL we end on, no cookie, no log line.
    stranger = requests.Session()
    landed = stranger.get(manage, params={"account_id": account["account"]["id"]}, timeout=10)
    arrival = landed.history[-1]
    code = arrival.url.split("code=")[1]
    assert arrival.url.startswith(f"{site.url}/jobber/manage?code=") and arrival.status_code == 303
    assert code not in arrival.headers["location"] and arrival.headers["referrer-policy"] == "no-referrer"
    assert "aj_session" not in arrival.headers.get("set-cookie", "")
    assert landed.url == f"{site.url}/jobber/sign-in" and "Sign in to the integration settings" in landed.text
    assert stranger.get(f"{site.url}/settings", timeout=10).status_code == 401

    # Signed in: the settings page.
    admin = requests.Session()
    sign_in(admin, link_for(tenant.id))
    landed = admin.get(manage, params={"account_id": account["account"]["id"]}, timeout=10)
    assert landed.url == f"{site.url}/settings" and f"Integration {tenant.id}" in landed.text
    # (the test's own HTTP client, urllib3, logs the URLs it requests: the service's lines are the others)
    ours = "\n".join(rec.getMessage() for rec in caplog.records if not rec.name.startswith("urllib3"))
    assert "manage_app" in ours and code not in ours and landed.history[-1].url.split("code=")[1] not in ours
