"""The business admin's side, driven in a real headless chromium against the sandbox vendors (issue 8).

Install from Aircall (numbers picked on Aircall's consent) → the settings page → connect Jobber → the next
call is logged, with no ajctl; every setting saved and read back; invalid input refused in place; the
lifecycle messages; and every way in that must be refused. Each page state is saved as a screenshot in
artifacts/screenshots/ and checked not to be blank.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from selenium.webdriver.common.by import By

from config.integration import IntegrationSettings
from config.settings import get_settings
from store.integrations import IntegrationStore
from store.redis import sync_client
from tests.support.browser import click, click_and_load, screenshot, text_of, wait_for
from tests.support.payloads import call_event
from tests.support.poll import until

pytestmark = [pytest.mark.flow, pytest.mark.browser, pytest.mark.slow]

NUMBERS = [
    {"name": "Support line", "e164": "+14155550199", "country": "US"},
    {"name": "Sales", "e164": "+14155550198", "country": "US"},
    {"name": "Warehouse", "e164": "+14155550197", "country": "US"},
]


# ---- helpers -------------------------------------------------------------------------------------------


def sandbox_company(site: Any, name: str = "Acme Home Services") -> dict[str, Any]:
    body = {"name": name, "numbers": NUMBERS}
    return requests.post(f"{site.aircall}/_sandbox/companies", json=body, timeout=5).json()


def sandbox_account(site: Any, name: str, clients: int = 6) -> dict[str, Any]:
    body = {"name": name, "seed_clients": clients, "seed": 3}
    return requests.post(f"{site.jobber}/_sandbox/accounts", json=body, timeout=5).json()


def aircall_company_state(site: Any, company_id: int) -> dict[str, Any]:
    state = requests.get(f"{site.aircall}/_sandbox/state", timeout=5).json()
    return next(c for c in state["companies"] if c["id"] == company_id)


def store() -> IntegrationStore:
    return IntegrationStore(sync_client(), get_settings().secret_key())


def ajctl(*args: str) -> dict[str, Any]:
    from cli import main

    result = CliRunner().invoke(main, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def sign_in(browser: Any, integration_id: str, shot: str | None = None) -> None:
    """Open a sign-in link (its page names the integration) and press Sign in."""
    browser.delete_all_cookies()
    open_link(browser, ajctl("integrations", "link", integration_id)["url"], shot)


def open_link(browser: Any, url: str, shot: str | None = None) -> None:
    browser.get(url)
    wait_for(browser, "#sign-in")
    if shot:
        screenshot(browser, shot)
    click_and_load(browser.find_element(By.ID, "sign-in"))
    wait_for(browser, "#settings-form, #status")


def install_from_aircall(browser: Any, site: Any, pick: list[int]) -> str:
    """Aircall's Install button → consent (pick numbers) → our settings page. Returns the integration id."""
    browser.delete_all_cookies()
    browser.get(f"{site.url}/install/aircall")
    wait_for(browser, "#numbers")
    for number_id in pick:
        click(browser.find_element(By.CSS_SELECTOR, f"#numbers input[value='{number_id}']"))
    screenshot(browser, "01-aircall-install-consent")
    click_and_load(browser.find_element(By.ID, "authorize"))
    wait_for(browser, "#status")
    return text_of(browser, "p.small").removeprefix("Integration ").strip()


def connect_jobber(browser: Any, account_name: str, shot: str | None = None) -> None:
    click_and_load(browser.find_element(By.ID, "connect-jobber"))
    wait_for(browser, "#allow")
    for label in browser.find_elements(By.CSS_SELECTOR, "label"):
        if label.text.strip() == account_name:
            click(label.find_element(By.TAG_NAME, "input"))
    if shot:
        screenshot(browser, shot)
    click_and_load(browser.find_element(By.ID, "allow"))
    wait_for(browser, "#status")


def known_phone(site: Any, account_id: str) -> str:
    state = requests.get(f"{site.jobber}/_sandbox/state", params={"account_id": account_id}, timeout=5).json()
    for client in state["accounts"][0]["clients"]:
        for phone in client.get("phones") or []:
            if phone.get("normalizedPhoneNumber") and not client.get("isArchived"):
                return str(phone["normalizedPhoneNumber"])
    raise AssertionError("the seeded account has no client with a phone")


def notes_of(site: Any, account_id: str) -> list[str]:
    state = requests.get(f"{site.jobber}/_sandbox/state", params={"account_id": account_id}, timeout=5).json()
    return [n["message"] for c in state["accounts"][0]["clients"] for n in c.get("notes") or []]


def checked(browser: Any, css: str) -> bool:
    return bool(browser.find_element(By.CSS_SELECTOR, css).is_selected())


# ---- the journey -----------------------------------------------------------------------------------------


def test_install_from_aircall_connect_jobber_and_the_next_call_is_logged(r, site, worker, browser):
    company = sandbox_company(site)
    account = sandbox_account(site, "Acme Plumbing")
    chosen = [company["numbers"][0]["id"], company["numbers"][2]["id"]]

    integration_id = install_from_aircall(browser, site, chosen)

    # Landed on the page with the numbers chosen in Aircall already connected, and the next step explained.
    assert "numbers you chose in Aircall" in text_of(browser, "#flash")
    assert text_of(browser, "#status-title") == "Next step: connect Jobber"
    assert "one connection per account" in text_of(browser, "#reinstall-warning")
    for number in company["numbers"]:
        assert checked(browser, f"input[name=numbers][value='{number['id']}']") == (number["id"] in chosen)
    assert store().require(integration_id).settings.numbers == chosen
    screenshot(browser, "02-settings-after-install")

    connect_jobber(browser, "Acme Plumbing", shot="03-jobber-consent")
    assert "Connected to Jobber" in text_of(browser, "#flash")
    assert text_of(browser, "#status-title") == "Active"
    screenshot(browser, "04-settings-connected")

    # The next call on a connected number is logged, without any ajctl.
    [webhook] = aircall_company_state(site, company["id"])["webhooks"]
    caller = known_phone(site, account["account"]["id"])
    line = {"id": chosen[0], "name": "Support line", "digits": "+1 415-555-0199", "country": "US"}
    body = call_event(webhook["token"], raw_digits=caller, number=line)
    assert requests.post(f"{site.url}/webhooks/aircall", json=body, timeout=5).status_code == 200
    until(
        lambda: any("Aircall: " in n for n in notes_of(site, account["account"]["id"])), 20, what="the note"
    )

    browser.get(f"{site.url}/settings")
    until(lambda: browser.find_elements(By.CSS_SELECTOR, "#activity .pill.logged"), 10, what="logged row")
    assert "Call" in text_of(browser, "#activity tbody")
    screenshot(browser, "05-settings-recent-activity")


def test_every_setting_saved_and_read_back_on_the_page_and_in_ajctl(r, site, worker, browser):
    from tests.support.tenants import make_tenant

    company = sandbox_company(site)
    account = sandbox_account(site, "Acme Plumbing")
    ids = [n["id"] for n in company["numbers"]]
    tenant = make_tenant(numbers=[ids[0]], aircall={**company, "api_id": company["api_id"]}, jobber=account)
    sign_in(browser, tenant.id)

    click(browser.find_element(By.CSS_SELECTOR, f"input[name=numbers][value='{ids[1]}']"))
    click(browser.find_element(By.CSS_SELECTOR, "input[name=log_activity_as][value=request]"))
    click(browser.find_element(By.NAME, "create_missing_clients"))
    click(browser.find_element(By.NAME, "contact_sync"))
    click(browser.find_element(By.CSS_SELECTOR, "input[name=card_mode][value=custom]"))
    slots = browser.find_elements(By.CSS_SELECTOR, "select[name=card_field]")
    for slot, value in zip(slots, ["phone", "balance", "tags"], strict=False):
        click(slot.find_element(By.CSS_SELECTOR, f"option[value='{value}']"))
    # The live preview follows the choices (a small script; the saved page renders the same server-side).
    until(
        lambda: browser.find_elements(By.CSS_SELECTOR, "#preview-items[data-live]"), 10, what="live preview"
    )
    assert "Balance" in text_of(browser, "#preview-items")
    # AI options are explained and disabled without AI Assist; ticking it enables them at once.
    assert browser.find_element(By.ID, "ai-fields").get_attribute("disabled") is not None
    click(browser.find_element(By.ID, "ai-assist"))
    assert browser.find_element(By.ID, "ai-fields").get_attribute("disabled") is None
    click(browser.find_element(By.NAME, "ai_enabled"))
    click(browser.find_element(By.NAME, "ai_transcription"))  # off
    click(browser.find_element(By.NAME, "ai_topics_as_tags"))
    click(browser.find_element(By.NAME, "ai_action_items_as_tasks"))
    click(browser.find_element(By.NAME, "ai_voice_agent_logging"))
    click_and_load(browser.find_element(By.ID, "save"))
    wait_for(browser, "#flash")
    assert text_of(browser, "#flash") == "Settings saved."

    expected = IntegrationSettings.parse(
        {
            "numbers": [ids[0], ids[1]],
            "log_activity_as": "request",
            "create_missing_clients": True,
            "contact_sync": True,
            "insight_card": {"custom": True, "fields": ["phone", "balance", "tags"]},
            "ai_logging": {
                "enabled": True,
                "transcription": False,
                "summary": True,
                "topics": True,
                "topics_as_tags": True,
                "action_items": True,
                "action_items_as_tasks": True,
                "sentiment": True,
            },
            "ai_voice_agent_logging": True,
            "aircall_plan_ai_assist": True,
        }
    )
    assert ajctl("integrations", "show", tenant.id)["settings"] == expected.model_dump()
    # Read back on the page, after a reload.
    browser.get(f"{site.url}/settings")
    assert checked(browser, f"input[name=numbers][value='{ids[1]}']")
    assert not checked(browser, f"input[name=numbers][value='{ids[2]}']")
    assert checked(browser, "input[name=log_activity_as][value=request]")
    assert checked(browser, "input[name=contact_sync]") and checked(
        browser, "input[name=create_missing_clients]"
    )
    assert [
        s.get_attribute("value") for s in browser.find_elements(By.CSS_SELECTOR, "select[name=card_field]")
    ][:3] == ["phone", "balance", "tags"]
    assert checked(browser, "input[name=ai_enabled]") and not checked(browser, "input[name=ai_transcription]")
    assert checked(browser, "input[name=ai_voice_agent_logging]")
    # The saved card, previewed server-side on a real client (empty fields are left out, as on the card).
    labels = [i.text for i in browser.find_elements(By.CSS_SELECTOR, "#preview-items .label")]
    assert labels and set(labels) <= {"Phone", "Balance", "Tags"} and text_of(browser, "#preview-client")

    # Turning contact sync on started the backfill; the page shows the sync's state and counts.
    def sync_state() -> str:
        browser.get(f"{site.url}/settings")
        return text_of(browser, "#sync-state")

    until(lambda: "Last sync" in sync_state(), 20, what="a finished sync on the page")
    assert "created" in text_of(browser, "#sync-state")
    screenshot(browser, "06-settings-every-setting-saved")

    # The CLI and the page are one model: a change by ajctl shows on the page.
    ajctl("integrations", "settings", tenant.id, "--set", "log_activity_as=note")
    browser.get(f"{site.url}/settings")
    assert checked(browser, "input[name=log_activity_as][value=note]")


def test_invalid_input_is_refused_in_place_and_nothing_is_stored(r, site, browser):
    from tests.support.tenants import make_tenant

    company = sandbox_company(site)
    account = sandbox_account(site, "Acme Plumbing")
    tenant = make_tenant(numbers=[company["numbers"][0]["id"]], aircall=company, jobber=account)
    before = store().require(tenant.id).settings
    sign_in(browser, tenant.id)

    click(browser.find_element(By.CSS_SELECTOR, "input[name=log_activity_as][value=request]"))
    click(browser.find_element(By.CSS_SELECTOR, "input[name=card_mode][value=custom]"))
    for slot in browser.find_elements(By.CSS_SELECTOR, "select[name=card_field]")[:2]:
        click(slot.find_element(By.CSS_SELECTOR, "option[value='email']"))
    click_and_load(browser.find_element(By.ID, "save"))
    wait_for(browser, "#form-errors")

    assert "must not repeat" in text_of(browser, "#error-insight_card-fields")
    # The refused attempt stays on screen to be fixed; nothing was stored.
    assert checked(browser, "input[name=log_activity_as][value=request]")
    assert store().require(tenant.id).settings == before
    screenshot(browser, "07-settings-invalid-input")


def test_app_disconnect_shows_the_message_disables_in_aircall_and_reconnecting_restores(
    r, site, worker, browser
):
    company = sandbox_company(site)
    account = sandbox_account(site, "Acme Plumbing")
    requests.post(f"{site.jobber}/_sandbox/webhooks", json={"url": f"{site.url}/webhooks/jobber"}, timeout=5)
    integration_id = install_from_aircall(browser, site, [company["numbers"][0]["id"]])
    connect_jobber(browser, "Acme Plumbing")
    until(
        lambda: aircall_company_state(site, company["id"])["integration"]["active"] is True,
        10,
        what="enabled",
    )

    requests.post(f"{site.jobber}/_sandbox/accounts/{account['account']['id']}/disconnect", timeout=5)
    until(lambda: store().require(integration_id).status == "inactive", 15, what="inactive")
    until(
        lambda: aircall_company_state(site, company["id"])["integration"]["active"] is False,
        15,
        what="disabled in Aircall",
    )

    browser.get(f"{site.url}/settings")
    assert (
        text_of(browser, "#status-message")
        == "Disconnected from Jobber — reinstall the integration to resume"
    )
    assert "inactive" in text_of(browser, "#aircall-inactive")
    assert "one connection per account" in text_of(browser, "#reinstall-warning")
    screenshot(browser, "08-settings-disconnected-in-jobber")

    connect_jobber(browser, "Acme Plumbing")
    assert text_of(browser, "#status-title") == "Active"
    until(
        lambda: aircall_company_state(site, company["id"])["integration"]["active"] is True,
        15,
        what="re-enabled in Aircall",
    )
    requests.post(f"{site.jobber}/_sandbox/webhooks", json={"url": None}, timeout=5)


def test_account_connected_elsewhere_and_moving_accounts_need_the_admin(r, site, worker, browser):
    from tests.support.tenants import make_tenant

    company = sandbox_company(site)
    first = sandbox_account(site, "Acme Plumbing")
    second = sandbox_account(site, "Bravo Heating")
    older = make_tenant(numbers=[company["numbers"][1]["id"]], aircall=company, jobber=first)
    newer = install_from_aircall(browser, site, [company["numbers"][0]["id"]])
    connect_jobber(browser, "Acme Plumbing")  # held by `older`: asks first
    wait_for(browser, "#confirm-jobber")
    assert "stops logging if you continue" in text_of(browser, "#confirm-jobber")
    screenshot(browser, "09-confirm-jobber-account-taken")
    click_and_load(browser.find_element(By.ID, "confirm-connect"))
    wait_for(browser, "#flash")
    assert store().require(newer).jobber_account.name == "Acme Plumbing"

    # The older integration's admin sees why, and what reconnecting would do.
    sign_in(browser, older.id)
    assert text_of(browser, "#status-title") == "Deactivated: the Jobber account was connected elsewhere"
    assert "takes the Jobber connection back" in text_of(browser, "#reinstall-warning")
    screenshot(browser, "10-settings-deactivated-elsewhere")

    # Moving an integration to another Jobber account needs an explicit yes; "keep" changes nothing.
    sign_in(browser, newer)
    browser.get(f"{site.url}/settings")
    browser.get(f"{site.url}/oauth/jobber/connect")
    wait_for(browser, "#allow")
    for label in browser.find_elements(By.CSS_SELECTOR, "label"):
        if label.text.strip() == "Bravo Heating":
            click(label.find_element(By.TAG_NAME, "input"))
    click_and_load(browser.find_element(By.ID, "allow"))
    wait_for(browser, "#confirm-jobber")
    assert "logs to the Jobber account “Acme Plumbing” today" in text_of(browser, "#confirm-jobber")
    screenshot(browser, "11-confirm-jobber-account-change")
    click_and_load(browser.find_element(By.ID, "confirm-cancel"))
    wait_for(browser, "#flash")
    assert store().require(newer).jobber_account.id == first["account"]["id"]
    assert second["account"]["id"] not in json.dumps(store().require(newer).to_public())


def test_disconnect_jobber_then_an_uninstall_from_the_admins_page(r, site, worker, browser):
    company = sandbox_company(site)
    sandbox_account(site, "Acme Plumbing")
    integration_id = install_from_aircall(browser, site, [company["numbers"][0]["id"]])
    connect_jobber(browser, "Acme Plumbing")
    assert text_of(browser, "#status-title") == "Active"

    # "Disconnect Jobber" asks first; the confirmation does it.
    click_and_load(browser.find_element(By.ID, "disconnect-jobber"))
    wait_for(browser, "#disconnect-confirm")
    assert "Acme Plumbing" in text_of(browser, "#disconnect-jobber")
    screenshot(browser, "23-disconnect-jobber-confirm")
    click_and_load(browser.find_element(By.ID, "disconnect-confirm"))
    wait_for(browser, "#flash")
    assert "Jobber is disconnected" in text_of(browser, "#flash")
    assert "connect Jobber again" in text_of(browser, "#status-message")
    assert browser.find_elements(By.ID, "connect-jobber")  # Reconnect Jobber
    assert not browser.find_elements(By.ID, "disconnect-jobber")
    screenshot(browser, "24-settings-jobber-disconnected-by-admin")
    until(
        lambda: aircall_company_state(site, company["id"])["integration"]["active"] is False,
        15,
        what="disabled in Aircall",
    )

    # Uninstalled meanwhile (ajctl or Aircall): the page says so and offers the reinstall, never an error.
    ajctl("integrations", "delete", integration_id)
    browser.get(f"{site.url}/settings")
    wait_for(browser, "#message")
    assert text_of(browser, "h1") == "Uninstalled"
    assert browser.find_element(By.ID, "reinstall").get_attribute("href") == f"{site.url}/install/aircall"
    screenshot(browser, "25-settings-uninstalled")
    browser.get(f"{site.url}/settings")
    assert text_of(browser, "h1") == "Please sign in"  # its session ended with it


def test_a_connect_started_in_jobbers_marketplace_is_attached_after_signing_in(r, site, worker, browser):
    from tests.support.tenants import make_tenant

    company = sandbox_company(site)
    body = {"name": "Acme Plumbing", "connect": False, "seed_clients": 4, "seed": 3}
    account = requests.post(f"{site.jobber}/_sandbox/accounts", json=body, timeout=5).json()["account"]
    tenant = make_tenant(numbers=[company["numbers"][0]["id"]], aircall=company, active=False)

    # A Jobber admin clicks Connect on the app's listing in Jobber's App Marketplace (not signed in with us).
    browser.delete_all_cookies()
    browser.get(f"{site.jobber}/marketplace")
    wait_for(browser, f"[id='connect-{account['id']}']")
    screenshot(browser, "18-jobber-marketplace-listing")
    click_and_load(browser.find_element(By.ID, f"connect-{account['id']}"))
    wait_for(browser, "#sign-in-help")
    assert browser.current_url == f"{site.url}/jobber/sign-in"
    assert "Acme Plumbing" in text_of(browser, "#pending-jobber")
    assert browser.find_elements(By.ID, "install-from-aircall")
    screenshot(browser, "19-marketplace-connect-how-to-sign-in")

    # The operator's one-time link: its page names the integration; Sign in opens the settings.
    open_link(browser, ajctl("integrations", "link", tenant.id)["url"], shot="20-sign-in-link-page")
    assert "ready to connect to this integration" in text_of(browser, "#confirm-jobber")
    assert "Acme Plumbing" in text_of(browser, "#pending-jobber")
    assert store().require(tenant.id).jobber_account is None
    screenshot(browser, "21-settings-jobber-ready-to-attach")

    click_and_load(browser.find_element(By.ID, "confirm-connect"))
    wait_for(browser, "#flash")
    assert "Connected to Jobber" in text_of(browser, "#flash")
    assert text_of(browser, "#status-title") == "Active"
    assert not browser.find_elements(By.ID, "confirm-jobber")
    assert store().require(tenant.id).jobber_account.id == account["id"]
    screenshot(browser, "22-settings-attached-from-marketplace")


def test_every_way_in_without_the_right_session_is_refused(r, site, browser):
    from tests.support.tenants import make_tenant

    company = sandbox_company(site)
    mine = make_tenant(
        numbers=[company["numbers"][0]["id"]], aircall=company, jobber=sandbox_account(site, "Mine")
    )
    theirs = make_tenant(numbers=[company["numbers"][1]["id"]], active=False)
    theirs_before = store().require(theirs.id).settings

    # A bare connect link with an id: no session, no redirect to Jobber.
    browser.delete_all_cookies()
    browser.get(f"{site.url}/oauth/jobber/connect?integration={theirs.id}")
    assert text_of(browser, "h1") == "Please sign in" and site.jobber not in browser.current_url
    screenshot(browser, "12-refused-bare-connect")
    browser.get(f"{site.url}/settings")
    assert text_of(browser, "h1") == "Please sign in"

    # An expired link, then a reused one.
    url = ajctl("integrations", "link", mine.id, "--ttl-minutes", "1")["url"]
    token_key = next(k for k in sync_client().scan_iter("aj:signin:*"))
    assert 0 < sync_client().ttl(token_key) <= 60
    sync_client().pexpire(token_key, 1)  # what Redis does when the minute is up
    until(lambda: not sync_client().exists(token_key), 2, what="expiry")
    browser.get(url)
    assert text_of(browser, "h1") == "This sign-in link has expired"
    screenshot(browser, "13-refused-expired-link")
    url = ajctl("integrations", "link", mine.id)["url"]
    open_link(browser, url)
    browser.delete_all_cookies()
    browser.get(url)
    assert text_of(browser, "h1") == "This sign-in link has expired"
    screenshot(browser, "14-refused-reused-link")

    # A forged CSRF token changes nothing.
    sign_in(browser, mine.id)
    before = store().require(mine.id).settings
    browser.execute_script("document.querySelector('#settings-form input[name=csrf_token]').value = 'forged'")
    click(browser.find_element(By.CSS_SELECTOR, "input[name=log_activity_as][value=request]"))
    click_and_load(browser.find_element(By.ID, "save"))
    wait_for(browser, "h1")
    assert text_of(browser, "h1") == "This form has expired"
    assert store().require(mine.id).settings == before
    screenshot(browser, "15-refused-forged-csrf")

    # Signed in to one integration, another's id gets nothing: not its connect, not its page.
    sign_in(browser, mine.id)
    browser.get(f"{site.url}/oauth/jobber/connect?integration={theirs.id}")
    assert text_of(browser, "h1") == "Not your integration"
    screenshot(browser, "16-refused-other-integration")
    browser.get(f"{site.url}/settings?integration={theirs.id}")
    assert f"Integration {mine.id}" in text_of(browser, "p.small") and theirs.id not in browser.page_source
    assert store().require(theirs.id).settings == theirs_before


def test_a_failed_call_shows_its_error_and_the_retry_button_logs_it_once(r, site, worker, browser):
    from tests.support.tenants import make_tenant

    company = sandbox_company(site)
    account = sandbox_account(site, "Acme Plumbing")
    line = company["numbers"][0]
    tenant = make_tenant(numbers=[line["id"]], aircall=company, jobber=account)
    caller = known_phone(site, account["account"]["id"])
    # Jobber refuses the next request outright (a permanent error): the event is dead-lettered.
    requests.post(
        f"{site.jobber}/_sandbox/faults", json={"reset": True, "fail_next": 1, "error_status": 400}, timeout=5
    )
    number = {"id": line["id"], "name": line["name"], "digits": "+1 415-555-0199", "country": "US"}
    body = call_event(tenant.webhook_token, raw_digits=caller, number=number)
    requests.post(f"{site.url}/webhooks/aircall", json=body, timeout=5).raise_for_status()
    until(lambda: ajctl("events", "failed", "--integration", tenant.id), 20, what="a dead letter")

    sign_in(browser, tenant.id)
    assert "1 event failed" in text_of(browser, "#activity")
    assert "HTTP 400" in text_of(browser, "#activity tr.failed .detail")
    screenshot(browser, "17-settings-failed-event")
    click_and_load(browser.find_element(By.ID, "replay-failed"))
    wait_for(browser, "#flash")
    until(
        lambda: [n for n in notes_of(site, account["account"]["id"]) if "Aircall: " in n], 20, what="the note"
    )

    browser.get(f"{site.url}/settings")
    until(lambda: browser.find_elements(By.CSS_SELECTOR, "#activity .pill.logged"), 10, what="logged row")
    assert not browser.find_elements(By.ID, "replay-failed") and ajctl("events", "failed") == []
    assert len([n for n in notes_of(site, account["account"]["id"]) if "Aircall: " in n]) == 1


def test_every_form_works_without_javascript(r, site, browser_without_js):
    browser = browser_without_js
    from tests.support.tenants import make_tenant

    company = sandbox_company(site)
    tenant = make_tenant(
        numbers=[company["numbers"][0]["id"]], aircall=company, jobber=sandbox_account(site, "Acme")
    )
    sign_in(browser, tenant.id)
    # Without the script, AI options unlock after AI Assist is saved: two plain form posts.
    click(browser.find_element(By.ID, "ai-assist"))
    assert browser.find_element(By.ID, "ai-fields").get_attribute("disabled") is not None  # no script ran
    click_and_load(browser.find_element(By.ID, "save"))
    wait_for(browser, "#flash")
    click(browser.find_element(By.NAME, "ai_enabled"))
    click(browser.find_element(By.CSS_SELECTOR, "input[name=card_mode][value=custom]"))
    click(browser.find_element(By.CSS_SELECTOR, "select[name=card_field] option[value='tags']"))
    click_and_load(browser.find_element(By.ID, "save"))
    wait_for(browser, "#flash")
    saved = store().require(tenant.id).settings
    assert saved.aircall_plan_ai_assist and saved.ai_logging.enabled and saved.insight_card.fields == ["tags"]
    # The server-rendered preview shows the saved card.
    assert not browser.find_elements(By.CSS_SELECTOR, "#preview-items[data-live]")
    click_and_load(browser.find_element(By.CSS_SELECTOR, "form[action='/settings/logout'] button"))
    assert text_of(browser, "h1") == "Signed out"
    browser.get(f"{site.url}/settings")
    assert text_of(browser, "h1") == "Please sign in"
