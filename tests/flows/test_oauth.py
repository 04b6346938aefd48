"""Install from Aircall and connect Jobber through both vendors' OAuth (sandbox servers), as a browser would
(a cookie-keeping HTTP session), and every way to hijack the install or the connect that must be refused.
The same journey in a real browser is in tests/pages/."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from store.integrations import IntegrationStore
from tests.support.admin import csrf, hidden_fields, install

pytestmark = pytest.mark.flow


def store(r: Any) -> IntegrationStore:
    from config.settings import get_settings

    return IntegrationStore(r, get_settings().secret_key())


def consent_jobber(site: Any, browser: requests.Session, account_id: str) -> requests.Response:
    consent = browser.get(f"{site.url}/oauth/jobber/connect", timeout=10)
    assert consent.url.startswith(f"{site.jobber}/api/oauth/authorize?"), consent.text
    return browser.post(
        f"{site.jobber}/api/oauth/authorize",
        timeout=10,
        data={**hidden_fields(consent.text), "account_id": account_id, "decision": "allow"},
    )


def test_install_from_aircall_then_connect_jobber(r, site):
    company = requests.post(f"{site.aircall}/_sandbox/companies", json={"name": "Acme"}, timeout=5).json()
    account = requests.post(
        f"{site.jobber}/_sandbox/accounts", json={"name": "Acme Plumbing"}, timeout=5
    ).json()
    browser = requests.Session()

    integration_id, page = install(site, browser, pick=1)
    waiting = store(r).require(integration_id)
    assert waiting.status == "inactive" and waiting.reason == "jobber_not_connected"
    assert waiting.aircall_auth == "bearer" and waiting.aircall_company_id == str(company["id"])
    assert waiting.settings.numbers == [min(n["id"] for n in company["numbers"])]  # chosen in Aircall
    assert "Connect Jobber" in page.text

    done = consent_jobber(site, browser, account["account"]["id"])
    assert done.url == f"{site.url}/settings?connected=1" and "Acme Plumbing" in done.text
    connected = store(r).require(integration_id)
    assert connected.status == "active" and connected.jobber_account.id == account["account"]["id"]
    assert store(r).secrets(integration_id).jobber_refresh_token  # the pair from the code exchange, encrypted
    state = requests.get(f"{site.aircall}/_sandbox/state", timeout=5).json()
    [webhook] = next(c for c in state["companies"] if c["id"] == company["id"])["webhooks"]
    assert webhook["url"] == f"{site.url}/webhooks/aircall"


def test_forged_or_missing_state_and_denial_are_refused(r, site):
    for path, status, text in [
        ("/oauth/aircall/callback?code=x&state=forged", 400, "expired"),
        ("/oauth/aircall/callback?error=access_denied&state=x", 400, "cancelled"),
        ("/oauth/jobber/callback?code=x", 400, "did not accept this authorization"),
        ("/oauth/jobber/callback", 400, "cancelled"),
        ("/oauth/jobber/connect?integration=int_nope", 401, "Please sign in"),
        ("/settings", 401, "Please sign in"),
        ("/settings/login?token=made-up", 400, "expired"),
    ]:
        response = requests.get(f"{site.url}{path}", allow_redirects=False, timeout=5)
        assert (response.status_code, text in response.text) == (status, True), path
    assert r.smembers("aj:integrations") == set()
    assert list(r.scan_iter("aj:jobber_pending*")) == []  # a refused code holds nothing


def test_a_stolen_aircall_callback_installs_nothing_in_another_browser(r, site):
    requests.post(f"{site.aircall}/_sandbox/companies", json={"name": "Mallory Inc"}, timeout=5)
    attacker = requests.Session()
    consent = attacker.get(f"{site.url}/install/aircall", timeout=10)
    callback = attacker.post(
        f"{site.aircall}/oauth/authorize",
        allow_redirects=False,
        timeout=10,
        data={**hidden_fields(consent.text), "decision": "allow"},
    )
    # The victim's browser opens the attacker's callback URL: it has no install cookie for that state.
    victim = requests.get(callback.headers["location"], allow_redirects=False, timeout=10)
    assert victim.status_code == 400 and "aj_session" not in victim.headers.get("set-cookie", "")
    assert r.smembers("aj:integrations") == set()


def test_the_jobber_state_is_bound_to_the_session_and_works_once(r, site):
    account = requests.post(f"{site.jobber}/_sandbox/accounts", json={"name": "Acme"}, timeout=5).json()
    requests.post(f"{site.aircall}/_sandbox/companies", json={"name": "Acme"}, timeout=5)
    admin = requests.Session()
    integration_id, _ = install(site, admin)
    consent = admin.get(f"{site.url}/oauth/jobber/connect", timeout=10)
    back = admin.post(
        f"{site.jobber}/api/oauth/authorize",
        allow_redirects=False,
        timeout=10,
        data={**hidden_fields(consent.text), "account_id": account["account"]["id"], "decision": "allow"},
    )
    callback = back.headers["location"]

    # Another session (someone else's browser, signed in to its own integration) cannot use this state.
    other = requests.Session()
    install(site, other)
    assert other.get(callback, allow_redirects=False, timeout=10).status_code == 400
    # Nor can anyone without a session; and the Aircall callback refuses a Jobber state.
    assert requests.get(callback, allow_redirects=False, timeout=10).status_code == 401
    state = parse_qs(urlsplit(callback).query)["state"][0]
    wrong = admin.get(f"{site.url}/oauth/aircall/callback", params={"code": "x", "state": state}, timeout=5)
    assert wrong.status_code == 400
    assert store(r).require(integration_id).status == "inactive"
    # Its own session connects with it, once; the same callback again is refused.
    assert admin.get(callback, allow_redirects=False, timeout=10).headers["location"].endswith("?connected=1")
    assert store(r).require(integration_id).jobber_account.id == account["account"]["id"]
    assert admin.get(callback, allow_redirects=False, timeout=10).status_code == 400


def test_one_session_sees_and_changes_only_its_own_integration(r, site):
    requests.post(f"{site.aircall}/_sandbox/companies", json={"name": "A"}, timeout=5)
    first, second = requests.Session(), requests.Session()
    first_id, first_page = install(site, first)
    second_id, second_page = install(site, second)
    assert first_id != second_id

    # The integration comes from the session; an id in the URL or the form changes nothing.
    assert second_id not in first.get(f"{site.url}/settings?integration={second_id}", timeout=5).text
    refused = first.get(
        f"{site.url}/oauth/jobber/connect?integration={second_id}", allow_redirects=False, timeout=5
    )
    assert refused.status_code == 403
    before = store(r).require(second_id).settings
    # The second session's CSRF token does not work with the first session's cookie.
    forged = first.post(
        f"{site.url}/settings",
        data={"csrf_token": csrf(second_page), "integration": second_id, "log_activity_as": "request"},
        timeout=5,
    )
    assert forged.status_code == 403
    saved = first.post(
        f"{site.url}/settings",
        data={"csrf_token": csrf(first_page), "integration": second_id, "log_activity_as": "request"},
        timeout=5,
    )
    assert saved.status_code == 200 and saved.url.endswith("?saved=1")
    assert store(r).require(first_id).settings.log_activity_as == "request"
    assert store(r).require(second_id).settings == before


def test_the_session_cookie_is_httponly_samesite_and_secure_on_https(r, site, settings_env):
    from starlette.responses import Response

    from config.settings import Settings
    from ingest.web import set_session_cookie

    requests.post(f"{site.aircall}/_sandbox/companies", json={"name": "A"}, timeout=5)
    browser = requests.Session()
    consent = browser.get(f"{site.url}/install/aircall", timeout=10)
    back = browser.post(
        f"{site.aircall}/oauth/authorize",
        allow_redirects=False,
        timeout=10,
        data={**hidden_fields(consent.text), "decision": "allow"},
    )
    landed = browser.get(back.headers["location"], allow_redirects=False, timeout=10)
    cookie = landed.headers["set-cookie"]
    assert "aj_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # PUBLIC_URL is http here; on https it is Secure:
    response = Response()
    set_session_cookie(response, Settings(PUBLIC_URL="https://aj.example.com"), "value")
    assert "Secure" in response.headers["set-cookie"]
