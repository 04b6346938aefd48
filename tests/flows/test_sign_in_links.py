"""One-time sign-in links (SPEC §2): a GET shows the integration the link opens and a Sign in button, and
uses nothing (mail scanners prefetch links); the POST uses the link once. A browser signed in to another
integration switches only when the admin confirms; the same integration's session is kept."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from config.settings import get_settings
from store import keys
from store.crypto import token_hash
from store.sessions import SessionStore
from tests.support.admin import hidden_fields, link_for, sign_in
from tests.support.tenants import make_tenant

pytestmark = pytest.mark.flow


def sessions(r: Any) -> SessionStore:
    return SessionStore(r, get_settings().secret_key())


def signed_in_to(site: Any, browser: requests.Session) -> str:
    page = browser.get(f"{site.url}/settings", timeout=10)
    assert page.status_code == 200, page.text
    return page.text.split("Integration ")[-1].split("<")[0].strip()


def test_a_get_shows_the_integration_and_uses_nothing_a_post_uses_it_once(r, site):
    account = requests.post(
        f"{site.jobber}/_sandbox/accounts", json={"name": "Acme Plumbing"}, timeout=5
    ).json()
    tenant = make_tenant(jobber=account)
    url = link_for(tenant.id)
    browser = requests.Session()

    first, second = browser.get(url, timeout=10), requests.get(url, timeout=10)  # e.g. a mail scanner first

    for page in (first, second):
        assert page.status_code == 200 and "Acme Plumbing" in page.text and 'id="sign-in"' in page.text
        assert "aj_session" not in page.headers.get("set-cookie", "")
        assert (
            page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
        )
    assert browser.get(f"{site.url}/settings", timeout=10).status_code == 401  # a GET signs nobody in
    form = hidden_fields(first.text)
    signed = browser.post(f"{site.url}/settings/login", data=form, allow_redirects=False, timeout=10)
    assert signed.status_code == 303 and signed.headers["location"] == f"{site.url}/settings"
    assert "aj_session=" in signed.headers["set-cookie"] and "HttpOnly" in signed.headers["set-cookie"]
    assert signed_in_to(site, browser) == tenant.id
    again = browser.post(f"{site.url}/settings/login", data=form, timeout=10)
    assert again.status_code == 400 and "This sign-in link has expired" in again.text
    assert browser.get(url, timeout=10).status_code == 400  # used: the page says so too


def test_a_post_without_the_pages_own_cookie_signs_nobody_in(r, site):
    """Another site cannot make a browser POST a link of its own (the form's value must match the page's
    SameSite cookie, which a cross-site POST does not carry)."""
    tenant = make_tenant()
    url = link_for(tenant.id)
    page = requests.get(url, timeout=10)
    victim = requests.Session()
    forged = victim.post(f"{site.url}/settings/login", data=hidden_fields(page.text), timeout=10)
    assert forged.status_code == 403 and "aj_session" not in victim.cookies
    assert sessions(r).peek_link(url.split("token=")[1]) == tenant.id  # not used


def test_a_link_for_another_integration_replaces_a_session_only_when_confirmed(r, site):
    mine_account = {
        "account": {"id": "acct-mine", "name": "Mine Plumbing"},
        "access_token": "a",
        "refresh_token": "r",
    }
    mine = make_tenant(jobber=mine_account)
    theirs = make_tenant()
    browser = requests.Session()
    sign_in(browser, link_for(mine.id))
    my_cookie = browser.cookies["aj_session"]
    url = link_for(theirs.id)

    page = browser.get(url, timeout=10)
    assert "signed in to the settings of another integration" in page.text and "Mine Plumbing" in page.text
    assert browser.cookies["aj_session"] == my_cookie
    unconfirmed = browser.post(f"{site.url}/settings/login", data=hidden_fields(page.text), timeout=10)
    assert unconfirmed.status_code == 409 and "another integration" in unconfirmed.text
    assert signed_in_to(site, browser) == mine.id
    assert sessions(r).peek_link(url.split("token=")[1]) == theirs.id  # still unused

    switched = sign_in(browser, url, switch="1")
    assert switched.url == f"{site.url}/settings" and signed_in_to(site, browser) == theirs.id
    assert not r.exists(keys.session(token_hash(my_cookie)))  # the replaced session is ended, not orphaned


def test_the_same_integrations_session_is_kept(r, site):
    tenant = make_tenant()
    browser = requests.Session()
    url = link_for(tenant.id)
    older_tab = browser.get(url, timeout=10)  # shown before this browser signed in
    sign_in(browser, link_for(tenant.id))
    cookie = browser.cookies["aj_session"]

    page = browser.get(url, timeout=10)
    assert "already signed in to this integration" in page.text and 'id="sign-in"' not in page.text
    assert sessions(r).peek_link(url.split("token=")[1]) == tenant.id
    form = {**hidden_fields(older_tab.text), "login_check": browser.cookies["aj_login"]}
    posted = browser.post(f"{site.url}/settings/login", data=form, timeout=10)  # pressed anyway
    assert posted.url == f"{site.url}/settings" and browser.cookies["aj_session"] == cookie
    assert sessions(r).peek_link(url.split("token=")[1]) is None  # used, and the session kept
