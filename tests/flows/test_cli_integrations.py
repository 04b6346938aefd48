"""`ajctl integrations ...` against the sandbox vendors over real HTTP, with a real Redis."""

from __future__ import annotations

import json

import pytest
import requests
from click.testing import CliRunner

from cli import main as ajctl
from store import keys

pytestmark = pytest.mark.flow


def run(*args: str, ok: bool = True):
    result = CliRunner().invoke(ajctl, list(args))
    if ok:
        assert result.exit_code == 0, result.stderr or result.output
    return result


def aircall_company(vendors) -> dict:
    response = requests.post(f"{vendors.aircall}/_sandbox/companies", json={"name": "Acme"}, timeout=5)
    response.raise_for_status()
    return response.json()


def jobber_account(vendors, name: str = "Acme Plumbing") -> dict:
    response = requests.post(f"{vendors.jobber}/_sandbox/accounts", json={"name": name}, timeout=5)
    response.raise_for_status()
    return response.json()


def create(vendors, company: dict, account: dict | None, *extra: str):
    args = [
        "integrations",
        "create",
        "--aircall-api-id",
        company["api_id"],
        "--aircall-api-token",
        company["api_token"],
    ]
    if account:
        args += [
            "--jobber-access-token",
            account["access_token"],
            "--jobber-refresh-token",
            account["refresh_token"],
        ]
    return run(*args, *extra, "--json")


def aircall_state(vendors, company_id) -> dict:
    state = requests.get(f"{vendors.aircall}/_sandbox/state", timeout=5).json()
    return next(c for c in state["companies"] if c["id"] == company_id)


def test_create_then_show_round_trips(r, vendors, tmp_path):
    company, account = aircall_company(vendors), jobber_account(vendors)
    settings_file = tmp_path / "settings.json"
    settings_file.write_text(
        json.dumps({"numbers": [company["numbers"][0]["id"]], "create_missing_clients": True})
    )

    created = json.loads(create(vendors, company, account, "--settings", str(settings_file)).stdout)
    shown = json.loads(run("integrations", "show", created["id"], "--json").stdout)

    assert created == shown
    assert shown["status"] == "active" and shown["message"] is None and shown["warnings"] == []
    assert shown["jobber_account"] == {"id": account["account"]["id"], "name": "Acme Plumbing"}
    # An API key: /v1/company has no id and the sandbox refuses /v1/integrations/me to keys (UNCONFIRMED on
    # Aircall), so the company id is unknown; its budget is keyed on the company's oldest number.
    assert shown["aircall_company_id"] is None
    assert shown["aircall_budget_key"] == f"numbers:{company['numbers'][0]['id']}"
    assert shown["settings"]["create_missing_clients"] is True
    # The Aircall webhook points at PUBLIC_URL and its token routes to this integration (hash only).
    [webhook] = aircall_state(vendors, company["id"])["webhooks"]
    assert webhook["url"] == "https://aj.example.test/webhooks/aircall"
    assert shown["aircall_webhook_id"] == webhook["webhook_id"]
    from store.crypto import token_hash

    assert r.hget(keys.WEBHOOK_TOKENS, token_hash(webhook["token"])) == created["id"]
    listed = json.loads(run("integrations", "list", "--json").stdout)
    assert [i["id"] for i in listed] == [created["id"]]
    assert created["id"] in run("integrations", "list").stdout  # the human table


def test_create_reads_the_tokens_from_the_environment_and_says_so_in_help(r, vendors):
    """Tokens on a command line show in `ps` and shell history: the environment keeps them out of both."""
    from config.settings import get_settings
    from store.integrations import IntegrationStore

    company, account = aircall_company(vendors), jobber_account(vendors)
    env = {
        "AIRCALL_API_TOKEN": company["api_token"],
        "JOBBER_ACCESS_TOKEN": account["access_token"],
        "JOBBER_REFRESH_TOKEN": account["refresh_token"],
    }

    result = CliRunner(env=env).invoke(
        ajctl, ["integrations", "create", "--aircall-api-id", company["api_id"], "--json"]
    )

    assert result.exit_code == 0, result.stderr or result.output
    created = json.loads(result.stdout)
    assert created["status"] == "active"
    assert created["jobber_account"] == {"id": account["account"]["id"], "name": "Acme Plumbing"}
    stored = IntegrationStore(r, get_settings().secret_key()).secrets(created["id"])
    assert (stored.aircall_token, stored.jobber_access_token) == (
        company["api_token"],
        account["access_token"],
    )
    helped = CliRunner().invoke(ajctl, ["integrations", "create", "--help"]).output
    for name in ("AIRCALL_API_TOKEN", "JOBBER_ACCESS_TOKEN", "JOBBER_REFRESH_TOKEN", "`ps`"):
        assert name in helped


def test_create_without_jobber_is_inactive_with_a_way_forward(r, vendors):
    created = json.loads(create(vendors, aircall_company(vendors), None).stdout)
    assert created["status"] == "inactive"
    # The way forward is the settings page, through a sign-in link (a bare id is never a credential).
    assert f"ajctl integrations link {created['id']}" in created["message"]
    link = json.loads(run("integrations", "link", created["id"], "--ttl-minutes", "30", "--json").stdout)
    assert link["url"].startswith("https://aj.example.test/settings/login?token=") and link["expires_at"]
    assert created["id"] not in link["url"]
    assert any("Jobber is not connected" in w for w in created["warnings"])
    assert any("no Aircall numbers" in w for w in created["warnings"])


def test_connecting_a_jobber_account_twice_deactivates_the_older_integration(r, vendors):
    account = jobber_account(vendors)
    first = json.loads(create(vendors, aircall_company(vendors), account).stdout)
    second_tokens = requests.post(
        f"{vendors.jobber}/_sandbox/tokens", json={"account_id": account["account"]["id"]}, timeout=5
    ).json()
    second = json.loads(create(vendors, aircall_company(vendors), {**account, **second_tokens}).stdout)

    assert second["status"] == "active"
    assert any(first["id"] in w and "one connection per account" in w for w in second["warnings"])
    older = json.loads(run("integrations", "show", first["id"], "--json").stdout)
    # The older one says why, without naming the other tenant's integration (its admin sees this message).
    assert older["status"] == "inactive" and older["reason"] == "jobber_account_moved"
    assert (
        "connected to another Aircall integration" in older["message"]
        and second["id"] not in older["message"]
    )


def test_bad_aircall_credentials_store_nothing(r, vendors):
    result = run(
        "integrations", "create", "--aircall-api-id", "x", "--aircall-api-token", "y", "--json", ok=False
    )
    assert result.exit_code == 1
    assert "Aircall rejected the credentials" in result.stderr
    assert result.stdout == ""
    assert r.smembers(keys.INTEGRATIONS) == set()


def test_bad_jobber_token_stores_nothing_and_registers_no_webhook(r, vendors):
    company = aircall_company(vendors)
    out = CliRunner().invoke(
        ajctl,
        [
            "integrations",
            "create",
            "--aircall-api-id",
            company["api_id"],
            "--aircall-api-token",
            company["api_token"],
            "--jobber-access-token",
            "bogus",
            "--jobber-refresh-token",
            "bogus",
            "--json",
        ],
    )
    assert out.exit_code == 1 and "Jobber rejected the access token" in out.stderr
    assert r.smembers(keys.INTEGRATIONS) == set()
    assert aircall_state(vendors, company["id"])["webhooks"] == []


def test_invalid_settings_file_is_refused_before_anything_happens(r, vendors, tmp_path):
    company = aircall_company(vendors)
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {"insight_card": {"fields": ["email", "phone", "tags", "balance", "lead_status", "client_since"]}}
        )
    )
    out = CliRunner().invoke(
        ajctl,
        [
            "integrations",
            "create",
            "--aircall-api-id",
            company["api_id"],
            "--aircall-api-token",
            company["api_token"],
            "--settings",
            str(bad),
        ],
    )
    assert out.exit_code == 1 and "at most 5 insight card fields" in out.stderr
    assert aircall_state(vendors, company["id"])["webhooks"] == []


def test_settings_set_and_file_and_refusal(r, vendors, tmp_path):
    created = json.loads(create(vendors, aircall_company(vendors), jobber_account(vendors)).stdout)
    iid = created["id"]

    changed = json.loads(
        run(
            "integrations", "settings", iid, "--set", "numbers=[1,2]", "--set", "contact_sync=true", "--json"
        ).stdout
    )
    assert changed["settings"]["numbers"] == [1, 2] and changed["settings"]["contact_sync"] is True

    refused = run("integrations", "settings", iid, "--set", "ai_logging.enabled=true", ok=False)
    assert refused.exit_code == 1 and "AI Assist" in refused.stderr
    assert (
        json.loads(run("integrations", "show", iid, "--json").stdout)["settings"]["ai_logging"]["enabled"]
        is False
    )

    doc = tmp_path / "s.json"
    doc.write_text(json.dumps({"log_activity_as": "request"}))
    replaced = json.loads(run("integrations", "settings", iid, "--file", str(doc), "--json").stdout)
    assert replaced["settings"]["log_activity_as"] == "request" and replaced["settings"]["numbers"] == []


def test_delete_disconnects_jobber_and_removes_the_aircall_webhook(r, vendors):
    company, account = aircall_company(vendors), jobber_account(vendors)
    created = json.loads(create(vendors, company, account).stdout)

    deleted = json.loads(run("integrations", "delete", created["id"], "--json").stdout)

    assert deleted["status"] == "deleted"
    assert aircall_state(vendors, company["id"])["webhooks"] == []
    accounts = requests.get(f"{vendors.jobber}/_sandbox/accounts", timeout=5).json()
    assert next(a for a in accounts if a["id"] == account["account"]["id"])["connected"] is False
    # Secrets are wiped; a second delete is a no-op.
    assert not [k for k in r.hkeys(keys.integration(created["id"])) if k.endswith("_enc")]
    again = json.loads(run("integrations", "delete", created["id"], "--json").stdout)
    assert again["warnings"] == ["already deleted"]


def test_unknown_integration_is_a_clear_error(r, vendors):
    out = run("integrations", "show", "int_nope", ok=False)
    assert out.exit_code == 2 and "no integration int_nope" in out.stderr


@pytest.mark.parametrize("args", [["integrations", "settings", "int_x"], ["events", "replay"]])
def test_commands_need_their_arguments(r, args):
    out = run(*args, ok=False)
    assert out.exit_code != 0


@pytest.mark.parametrize("me_answers_api_keys", [True, False], ids=["integrations-me", "refused"])
def test_two_api_keys_of_one_company_share_its_rate_budget(r, vendors, me_answers_api_keys):
    """Aircall's rate limit is per company, whatever key or app calls (aircall-api.md §7)."""
    from flows.vendors import aircall_for, store_for

    company, other = aircall_company(vendors), aircall_company(vendors)
    base = f"{vendors.aircall}/_sandbox/companies"
    requests.post(
        f"{base}/{company['id']}", json={"integrations_me_for_api_keys": me_answers_api_keys}, timeout=5
    )
    second_key = requests.post(f"{base}/{company['id']}/api_keys", timeout=5).json()

    ids = [
        json.loads(create(vendors, c, None).stdout)["id"] for c in (company, {**company, **second_key}, other)
    ]
    first, second, elsewhere = (aircall_for(store_for().require(i)) for i in ids)
    first.ping()
    first.ping()

    assert second.budget.used() == first.budget.used() == 2 + 0  # the install's own calls were unbudgeted
    assert elsewhere.budget.used() == 0
    shown = json.loads(run("integrations", "show", ids[0], "--json").stdout)
    assert shown["aircall_company_id"] == (str(company["id"]) if me_answers_api_keys else None)
    assert (
        shown["aircall_budget_key"]
        == json.loads(run("integrations", "show", ids[1], "--json").stdout)["aircall_budget_key"]
    )
