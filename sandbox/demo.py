"""The demo (`python -m sandbox.demo`, or `ajctl demo`; run by the README's run command): install
an integration against the sandbox vendors, play a realistic mix of calls and texts through the running
service, and report what happened."""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from typing import Any
from urllib.parse import urlparse

import click
import requests

from config.integration import IntegrationSettings
from config.settings import Settings, get_settings
from sandbox.play import play
from sandbox.scenarios.library import ScenarioContext, build, delivery_order
from store.ledger import Ledger
from store.redis import sync_client

COMPANY = "Acme Home Services"
NUMBERS = [
    {"name": "Support line", "e164": "+14155550199", "country": "US", "time_zone": "America/Los_Angeles"},
    {"name": "Sales", "e164": "+14155550198", "country": "US", "time_zone": "America/Los_Angeles"},
]
UNKNOWN_CALLERS = ["+14155550177", "+14155550178"]
# A second business, not installed yet, for trying the partner install from the README's run command.
INSTALL_WALKTHROUGH = "Bright Lawn Care"
WALKTHROUGH_NUMBERS = [
    {"name": "Main line", "e164": "+13125550140", "country": "US", "time_zone": "America/Chicago"},
    {"name": "After hours", "e164": "+13125550141", "country": "US", "time_zone": "America/Chicago"},
]


def _jobber_base(settings: Settings) -> str:
    return settings.JOBBER_API_URL.removesuffix("/graphql").removesuffix("/api")


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(url, json=body, timeout=30)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def known_callers(jobber_base: str, account_id: str, limit: int = 8) -> list[str]:
    """Phone numbers of seeded Jobber clients, so the demo's calls match real clients."""
    state = requests.get(
        f"{jobber_base}/_sandbox/state", params={"account_id": account_id}, timeout=30
    ).json()
    found: list[str] = []
    for account in state.get("accounts", []):
        for client in account.get("clients", []):
            for phone in client.get("phones", []):
                number = phone.get("normalizedPhoneNumber")
                if number and number not in found and not client.get("isArchived"):
                    found.append(number)
            if len(found) >= limit:
                return found
    return found


def vendors_on_loopback(settings: Settings) -> bool:
    """Both vendor URLs point at this machine: the sandbox vendors, never the real ones."""
    hosts = {urlparse(u).hostname for u in (settings.AIRCALL_API_URL, settings.JOBBER_API_URL)}
    return hosts <= {"localhost", "127.0.0.1", "::1"}


def run_demo(settings: Settings, settle_timeout_s: float = 60.0) -> dict[str, Any]:
    from flows.lifecycle import install_with_api_key

    if not (settings.is_sandbox and vendors_on_loopback(settings)):
        raise RuntimeError(
            "the demo runs in sandbox mode against the sandbox vendors only (SANDBOX_MODE=true, "
            "AIRCALL_API_URL / JOBBER_API_URL on loopback)"
        )
    company = _post(
        f"{settings.AIRCALL_API_URL}/_sandbox/companies",
        {
            "name": COMPANY,
            "numbers": NUMBERS,
            "ai_assist": True,
            "rate_limit_per_min": settings.AIRCALL_RATE_LIMIT_PER_MIN,
        },
    )
    jobber_base = _jobber_base(settings)
    # The app's URLs, as its developer registers them in Jobber's Developer Center
    # (README: install and connect).
    app_urls = {
        "oauth_callback_url": f"{settings.PUBLIC_URL}/oauth/jobber/callback",
        "manage_app_url": f"{settings.PUBLIC_URL}/jobber/manage",
    }
    _post(f"{jobber_base}/_sandbox/app", app_urls)
    account = _post(f"{jobber_base}/_sandbox/accounts", {"name": COMPANY, "seed_clients": 150, "seed": 7})
    integration_settings = IntegrationSettings(
        numbers=[int(n["id"]) for n in company["numbers"]],
        create_missing_clients=True,
        aircall_plan_ai_assist=True,
        ai_voice_agent_logging=True,
        contact_sync=True,  # the Aircall page fills with the Jobber clients as contacts
        ai_logging={"enabled": True, "action_items_as_tasks": True},
    )
    outcome = install_with_api_key(
        api_id=company["api_id"],
        api_token=company["api_token"],
        jobber_access_token=account["access_token"],
        jobber_refresh_token=account["refresh_token"],
        integration_settings=integration_settings,
        settings=settings,
    )
    integration = outcome.integration
    # The webhook token is what Aircall sends with each event; the emulator knows it, we keep only a hash.
    state = requests.get(f"{settings.AIRCALL_API_URL}/_sandbox/state", timeout=30).json()
    me = next(c for c in state["companies"] if c["id"] == company["id"])
    token = next(w["token"] for w in me["webhooks"] if w["active"])

    externals = known_callers(jobber_base, account["account"]["id"]) + UNKNOWN_CALLERS
    ctx = ScenarioContext(
        token=token,
        externals=externals,
        numbers=me["numbers"],
        users=me["users"],
        company_id=me["id"],
        seed=7,
    )
    events = delivery_order(build("demo", ctx), duplicates=1, shuffle=False, seed=7)
    # Paced like real traffic, so insight cards land while their calls still ring in the emulator.
    played = play(events, settings.PUBLIC_URL, rate=25.0, aircall_url=settings.AIRCALL_API_URL)

    outcomes, reasons = settle(integration.id, settle_timeout_s)
    _post(
        f"{settings.AIRCALL_API_URL}/_sandbox/companies",
        {"name": INSTALL_WALKTHROUGH, "numbers": WALKTHROUGH_NUMBERS},
    )
    walkthrough = {"name": INSTALL_WALKTHROUGH, "seed_clients": 25, "seed": 11, "connect": False}
    _post(f"{jobber_base}/_sandbox/accounts", walkthrough)
    return {
        "integration": integration.to_public(),
        "played": {"events": len(events), **played.summary()},
        "outcomes": outcomes,
        "skip_reasons": reasons,
        "pages": {
            "jobber": f"{jobber_base}/",
            "jobber_marketplace": f"{jobber_base}/marketplace",
            "aircall": f"{settings.AIRCALL_API_URL}/",
        },
        "ok": played.ok and outcomes.get("pending", 0) == 0 and outcomes.get("failed", 0) == 0,
    }


def settle(integration_id: str, timeout_s: float) -> tuple[dict[str, int], dict[str, int]]:
    """Wait until no event of the integration is pending; return counts per outcome and per skip reason."""
    r = sync_client()
    ledger = Ledger(r)
    deadline = time.monotonic() + timeout_s
    while True:
        counts: Counter[str] = Counter()
        reasons: Counter[str] = Counter()
        for key in r.scan_iter("aj:ev:ev_*", count=1000):
            if key.endswith(":log"):
                continue
            entry = ledger.get(key.removeprefix("aj:ev:"))
            if entry and entry.get("integration") == integration_id:
                counts[entry.get("outcome", "pending")] += 1
                if entry.get("outcome") == "skipped":
                    reasons[entry.get("reason") or "?"] += 1
        if counts.get("pending", 0) == 0 or time.monotonic() > deadline:
            return dict(sorted(counts.items())), dict(reasons.most_common())
        time.sleep(0.5)


@click.command()
@click.option("--summary-file", type=click.Path(dir_okay=False), help="Also write the summary JSON here.")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait for the events to settle.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
def main(summary_file: str | None, timeout: float, as_json: bool) -> None:
    """Install an integration on the sandbox vendors and play a realistic mix of calls and texts."""
    os.environ["SANDBOX_MODE"] = "true"  # the demo only ever talks to the sandbox vendors (checked below)
    get_settings.cache_clear()
    summary = run_demo(get_settings(), settle_timeout_s=timeout)
    if summary_file:
        with open(summary_file, "w", encoding="utf-8") as fh:
            json.dump(summary, fh, indent=2)
    played, outcomes = summary["played"], summary["outcomes"]
    human = (
        f"integration {summary['integration']['id']} ({summary['integration']['status']}): "
        f"played {played['events']} events, HTTP {played['statuses']}; outcomes {outcomes}"
    )
    click.echo(json.dumps(summary, indent=2, default=str) if as_json else human)
    if not summary["ok"]:
        click.echo("error: the demo did not complete cleanly (see the summary)", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
