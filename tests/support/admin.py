"""An admin's browser as a cookie-keeping HTTP session: install, sign in with a link, forms and their hidden
fields, and the sandbox Jobber's App Marketplace."""

from __future__ import annotations

import html
import re
from typing import Any

import requests

FORM_FIELD = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')


def hidden_fields(page: str) -> dict[str, str]:
    return {k: html.unescape(v) for k, v in FORM_FIELD.findall(page)}


def csrf(page: requests.Response) -> str:
    return re.findall(r'name="csrf_token" value="([^"]*)"', page.text)[0]


def install(site: Any, browser: requests.Session, pick: int = 1) -> tuple[str, requests.Response]:
    """/install/aircall → Aircall's consent (the first `pick` numbers) → our settings page."""
    consent = browser.get(f"{site.url}/install/aircall", timeout=10)
    assert consent.url.startswith(f"{site.aircall}/oauth/authorize?")
    numbers = re.findall(r'name="number_ids" value="(\d+)"', consent.text)[:pick]
    form = {**hidden_fields(consent.text), "number_ids": numbers, "decision": "allow"}
    page = browser.post(f"{site.aircall}/oauth/authorize", data=form, timeout=10)
    assert page.url == f"{site.url}/settings?installed=1", page.text
    return re.findall(r"Integration (int_\w+)", page.text)[0], page


def link_for(integration_id: str) -> str:
    """A one-time sign-in URL, as `ajctl integrations link` hands it out."""
    from flows.lifecycle import sign_in_link

    url, _ = sign_in_link(integration_id, 600)
    return url


def sign_in(browser: requests.Session, url: str, **extra: str) -> requests.Response:
    """Open a sign-in link (GET: the page naming the integration) and press its button (POST)."""
    page = browser.get(url, timeout=10)
    assert page.status_code == 200, page.text
    return browser.post(url.split("?")[0], data={**hidden_fields(page.text), **extra}, timeout=10)


def unconnected_account(site: Any, name: str, clients: int = 0) -> dict[str, Any]:
    """A Jobber account that has not connected the app yet (its Marketplace listing shows Connect)."""
    body = {"name": name, "connect": False, "seed_clients": clients, "seed": 3}
    account: dict[str, Any] = requests.post(f"{site.jobber}/_sandbox/accounts", json=body, timeout=5).json()
    return account["account"]


def jobber_account_state(site: Any, account_id: str) -> dict[str, Any]:
    state = requests.get(f"{site.jobber}/_sandbox/state", params={"account_id": account_id}, timeout=5).json()
    found: dict[str, Any] = state["accounts"][0]
    return found


def marketplace_connect(site: Any, browser: requests.Session, account_id: str) -> requests.Response:
    """The admin clicks Connect on the app's listing in Jobber's App Marketplace (for that account)."""
    return browser.get(f"{site.jobber}/marketplace/connect", params={"account_id": account_id}, timeout=10)
