"""The admin's side of issue 16, through the ingest over HTTP with a cookie-keeping session as the browser: a
deleted integration's page says it was uninstalled (never a 500) and its sessions end; "Disconnect Jobber"
(confirmation + CSRF); and "Keep things as they are" on a takeover consent says truthfully what happened in
Jobber under both readings of one-connection-per-account. Real Redis, the sandbox vendors over HTTP."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from config.settings import get_settings
from flows.lifecycle import delete_integration
from flows.vendors import jobber_for, store_for
from store.integrations import IntegrationStore
from tests.flows.test_oauth import consent_jobber
from tests.support.admin import (
    csrf,
    install,
    jobber_account_state,
    link_for,
    marketplace_connect,
    unconnected_account,
)
from tests.support.poll import until
from tests.support.tenants import make_tenant

pytestmark = pytest.mark.flow


def store(r: Any) -> IntegrationStore:
    return IntegrationStore(r, get_settings().secret_key())


def connected_in_jobber(site: Any, account_id: str) -> bool:
    return bool(jobber_account_state(site, account_id)["connected"])


def aircall_active(site: Any, company_id: int) -> bool:
    state = requests.get(f"{site.aircall}/_sandbox/state", timeout=5).json()
    return bool(next(c for c in state["companies"] if c["id"] == company_id)["integration"]["active"])


def text(page: requests.Response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", page.text).split())


# ---- after a delete ----------------------------------------------------------------------------------------


def test_a_deleted_integrations_page_says_uninstalled_and_its_session_ends(r, site):
    # Given an admin signed in on the settings page, with a Jobber connection waiting in the browser
    requests.post(f"{site.aircall}/_sandbox/companies", json={"name": "Acme"}, timeout=5)
    browser = requests.Session()
    integration_id, _ = install(site, browser)
    account = unconnected_account(site, "Acme Plumbing")
    marketplace_connect(site, browser, account["id"])
    page = browser.get(f"{site.url}/settings", timeout=10)
    assert "ready to connect to this integration" in page.text
    unused_link = link_for(integration_id)

    # When an operator deletes the integration
    delete_integration(integration_id, "Deleted by an operator")

    # Then attaching the waiting connection answers "Uninstalled" (not a 500) and removes it from Jobber
    attach = browser.post(
        f"{site.url}/settings/jobber/confirm",
        data={"csrf_token": csrf(page), "decision": "connect"},
        timeout=10,
    )
    assert attach.status_code == 410 and "Uninstalled" in text(attach), attach.text
    assert "Reinstall from Aircall" in text(attach) and 'href="/install/aircall"' in attach.text
    assert not connected_in_jobber(site, account["id"])
    # The session ended with it: the page asks to sign in; the operator's link says uninstalled too
    again = browser.get(f"{site.url}/settings", timeout=10)
    assert again.status_code == 401 and "Please sign in" in again.text
    login = requests.get(unused_link, timeout=10)
    assert login.status_code == 410 and "Uninstalled" in text(login)


def test_the_settings_page_of_a_deleted_integration_offers_the_reinstall(r, site):
    requests.post(f"{site.aircall}/_sandbox/companies", json={"name": "Acme"}, timeout=5)
    browser = requests.Session()
    integration_id, _ = install(site, browser)

    delete_integration(integration_id, "Uninstalled from Aircall")

    page = browser.get(f"{site.url}/settings", timeout=10)
    assert page.status_code == 410, page.text
    assert "Uninstalled" in text(page) and "Uninstalled from Aircall" in text(page)
    assert 'id="reinstall" href="/install/aircall"' in page.text
    preview = browser.get(f"{site.url}/settings/card-preview", timeout=10)
    assert preview.status_code == 401  # the session is gone


# ---- Disconnect Jobber -------------------------------------------------------------------------------------


def test_disconnect_jobber_asks_first_needs_the_csrf_token_and_disconnects_in_jobber(r, site, worker):
    company = requests.post(f"{site.aircall}/_sandbox/companies", json={"name": "Acme"}, timeout=5).json()
    account = unconnected_account(site, "Acme Plumbing")
    browser = requests.Session()
    integration_id, _ = install(site, browser)
    assert consent_jobber(site, browser, account["id"]).url.endswith("?connected=1")
    until(lambda: aircall_active(site, company["id"]), what="the install enabled in Aircall")

    page = browser.get(f"{site.url}/settings", timeout=10)
    assert 'href="/settings/jobber/disconnect" id="disconnect-jobber"' in page.text
    confirm = browser.get(f"{site.url}/settings/jobber/disconnect", timeout=10)
    assert confirm.status_code == 200 and "Disconnect Jobber?" in text(confirm)
    assert store(r).require(integration_id).status == "active"  # showing the question changes nothing

    forged = browser.post(
        f"{site.url}/settings/jobber/disconnect", data={"csrf_token": "x", "confirm": "1"}, timeout=10
    )
    assert forged.status_code == 403 and store(r).require(integration_id).status == "active"
    unconfirmed = browser.post(
        f"{site.url}/settings/jobber/disconnect", data={"csrf_token": csrf(confirm)}, timeout=10
    )
    assert "Disconnect Jobber?" in text(unconfirmed) and store(r).require(integration_id).status == "active"

    done = browser.post(
        f"{site.url}/settings/jobber/disconnect",
        data={"csrf_token": csrf(confirm), "confirm": "1"},
        timeout=10,
    )

    assert done.url == f"{site.url}/settings?disconnected=1", done.text
    assert "Jobber is disconnected" in text(done) and "Reconnect Jobber" in text(done)
    gone = store(r).require(integration_id)
    assert (gone.status, gone.reason) == ("inactive", "jobber_disconnected")
    assert "connect Jobber again" in (gone.message or "")
    assert store(r).secrets(integration_id).jobber_refresh_token is None
    assert not connected_in_jobber(site, account["id"])
    until(lambda: not aircall_active(site, company["id"]), what="the install disabled in Aircall")


# ---- "Keep things as they are" on a takeover ---------------------------------------------------------------


@pytest.mark.parametrize("consent_revokes_previous", [True, False], ids=["consent-ends-old", "both-live"])
def test_keeping_things_as_they_are_says_what_happened_and_leaves_no_orphan(
    r, site, consent_revokes_previous
):
    # Given an Aircall integration connected to a Jobber account
    account = requests.post(
        f"{site.jobber}/_sandbox/accounts", json={"name": "Acme Plumbing"}, timeout=5
    ).json()
    account_id = account["account"]["id"]
    holder = make_tenant(jobber=account)
    requests.post(
        f"{site.jobber}/_sandbox/token_options",
        json={"consent_revokes_previous": consent_revokes_previous},
        timeout=5,
    ).raise_for_status()
    # and the admin of another integration who approves that same account in Jobber
    requests.post(f"{site.aircall}/_sandbox/companies", json={"name": "Bravo"}, timeout=5)
    browser = requests.Session()
    install(site, browser)
    page = consent_jobber(site, browser, account_id)
    assert "is connected to another Aircall integration" in text(page)
    assert "may already have ended its connection" in text(page)

    # When they choose "Keep things as they are"
    kept = browser.post(
        f"{site.url}/settings/jobber/confirm",
        data={"csrf_token": csrf(page), "decision": "cancel"},
        timeout=10,
    )

    if consent_revokes_previous:
        # Then: Jobber had ended the holder's connection at the consent; the new one is removed too (no
        # orphan), the page says so, and the holder says why it stopped and how to resume.
        assert kept.url.endswith("?declined_ended=1") and "connected to no integration" in text(kept)
        assert not connected_in_jobber(site, account_id)
        ended = store(r).require(holder.id)
        assert (ended.status, ended.reason) == ("inactive", "jobber_disconnected")
        assert "reconnect Jobber here" in (ended.message or "")
    else:
        # Then: the holder's connection still works and keeps it; the new grant is only dropped (appDisconnect
        # would remove the account from the app, the holder's connection with it).
        assert kept.url.endswith("?declined_kept=1") and "keeps logging" in text(kept)
        assert connected_in_jobber(site, account_id)
        assert store(r).require(holder.id).status == "active"
        assert jobber_for(store_for().require(holder.id)).account().id == account_id
    assert list(r.scan_iter("aj:jobber_pending:*")) == []
