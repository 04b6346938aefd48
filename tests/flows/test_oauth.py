"""Install from Aircall and connect Jobber through both vendors' OAuth (sandbox servers), as a browser would."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from store.integrations import IntegrationStore

PUBLIC = "https://aj.example.test"  # PUBLIC_URL in tests/conftest.py


@pytest.fixture
def oauth_env(vendors, settings_env):
    settings_env.setenv("AIRCALL_OAUTH_URL", f"{vendors.aircall}/oauth")
    settings_env.setenv("AIRCALL_CLIENT_ID", "sandbox-client-id")
    settings_env.setenv("AIRCALL_CLIENT_SECRET", "sandbox-client-secret")
    return vendors


def follow(url: str, ingest_url: str) -> requests.Response:
    """One browser hop without following redirects; our PUBLIC_URL is served by the test's ingest."""
    return requests.get(url.replace(PUBLIC, ingest_url), allow_redirects=False, timeout=10)


def test_install_from_aircall_then_connect_jobber(r, ingest_url, oauth_env):
    from config.settings import get_settings

    vendors = oauth_env
    company = requests.post(f"{vendors.aircall}/_sandbox/companies", json={"name": "Acme"}, timeout=5).json()
    account = requests.post(
        f"{vendors.jobber}/_sandbox/accounts", json={"name": "Acme Plumbing"}, timeout=5
    ).json()

    to_consent = follow(f"{ingest_url}/install/aircall", ingest_url)
    assert to_consent.status_code == 302 and to_consent.headers["location"].startswith(
        f"{vendors.aircall}/oauth/authorize?"
    )
    back = follow(to_consent.headers["location"], ingest_url)
    assert back.headers["location"].startswith(f"{PUBLIC}/oauth/aircall/callback?code=")
    to_jobber = follow(back.headers["location"], ingest_url)
    assert to_jobber.status_code == 302, to_jobber.text
    integration_id = parse_qs(urlsplit(to_jobber.headers["location"]).query)["integration"][0]
    store = IntegrationStore(r, get_settings().secret_key())
    waiting = store.require(integration_id)
    assert waiting.status == "inactive" and waiting.aircall_auth == "bearer"
    assert waiting.aircall_company_id == str(company["id"])

    consent = follow(to_jobber.headers["location"], ingest_url)
    assert consent.headers["location"].startswith(f"{vendors.jobber}/api/oauth/authorize?")
    callback = follow(consent.headers["location"], ingest_url)
    done = follow(callback.headers["location"], ingest_url)

    assert done.status_code == 200 and "Connected to Jobber" in done.text and "Acme Plumbing" in done.text
    connected = store.require(integration_id)
    assert connected.status == "active" and connected.jobber_account.id == account["account"]["id"]
    assert store.secrets(integration_id).jobber_refresh_token  # the pair from the code exchange, encrypted
    state = requests.get(f"{vendors.aircall}/_sandbox/state", timeout=5).json()
    [webhook] = next(c for c in state["companies"] if c["id"] == company["id"])["webhooks"]
    assert webhook["url"] == f"{PUBLIC}/webhooks/aircall"


def test_forged_or_missing_state_and_denial_are_refused(r, ingest_url, oauth_env):
    for path, status, text in [
        ("/oauth/aircall/callback?code=x&state=forged", 400, "expired"),
        ("/oauth/jobber/callback?code=x", 400, "Start from Aircall"),
        ("/oauth/jobber/callback", 400, "cancelled"),
        ("/oauth/jobber/connect?integration=int_nope", 404, "Unknown integration"),
    ]:
        response = requests.get(f"{ingest_url}{path}", allow_redirects=False, timeout=5)
        assert (response.status_code, text in response.text) == (status, True), path
    assert r.smembers("aj:integrations") == set()


def test_a_jobber_state_cannot_be_replayed_on_the_aircall_callback(r, ingest_url, oauth_env):
    from tests.support.tenants import make_tenant

    tenant = make_tenant(active=False)
    consent = follow(f"{ingest_url}/oauth/jobber/connect?integration={tenant.id}", ingest_url)
    state = parse_qs(urlsplit(consent.headers["location"]).query)["state"][0]
    wrong = requests.get(
        f"{ingest_url}/oauth/aircall/callback", params={"code": "x", "state": state}, timeout=5
    )
    assert wrong.status_code == 400
