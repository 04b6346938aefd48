"""`ajctl integrations`: create, inspect, configure, link and delete integrations."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from cli.common import Ops, guarded, json_option, load_settings_file, pass_ops
from cli.output import describe_integration, emit, table
from config.integration import IntegrationSettings, SettingsError, parse_assignment
from flows.lifecycle import apply_settings, delete_integration, install_with_api_key, sign_in_link


@click.group()
def integrations() -> None:
    """Create, inspect, configure and delete integrations."""


# Tokens on a command line are visible to every user of the machine (`ps`) and stay in shell history: each may
# come from the environment instead (an option given on the command line wins).
FROM_ENV = "Prefer the env var: a command line shows in `ps` and stays in shell history."


@integrations.command("create")
@click.option("--aircall-api-id", required=True, envvar="AIRCALL_API_ID", show_envvar=True)
@click.option(
    "--aircall-api-token", required=True, envvar="AIRCALL_API_TOKEN", show_envvar=True, help=FROM_ENV
)
@click.option("--jobber-access-token", envvar="JOBBER_ACCESS_TOKEN", show_envvar=True, help=FROM_ENV)
@click.option("--jobber-refresh-token", envvar="JOBBER_REFRESH_TOKEN", show_envvar=True, help=FROM_ENV)
@click.option("--settings", "settings_file", type=click.Path(dir_okay=False), help="Settings JSON file.")
@json_option
@pass_ops
@guarded
def integrations_create(
    ops: Ops,
    aircall_api_id: str,
    aircall_api_token: str,
    jobber_access_token: str | None,
    jobber_refresh_token: str | None,
    settings_file: str | None,
    as_json: bool,
) -> None:
    """Register the Aircall webhook, read the Jobber account, store the integration.

    \b
    Tokens can come from the environment instead of the command line, e.g.:
      read -rs AIRCALL_API_TOKEN && export AIRCALL_API_TOKEN
      (likewise JOBBER_ACCESS_TOKEN and JOBBER_REFRESH_TOKEN)
      ajctl integrations create --aircall-api-id ID --json
    """

    integration_settings = load_settings_file(settings_file) if settings_file else IntegrationSettings()
    outcome = install_with_api_key(
        settings=ops.settings,
        api_id=aircall_api_id,
        api_token=aircall_api_token,
        jobber_access_token=jobber_access_token,
        jobber_refresh_token=jobber_refresh_token,
        integration_settings=integration_settings,
    )
    doc = outcome.integration.to_public()
    emit(as_json, doc, describe_integration(doc))


@integrations.command("list")
@json_option
@pass_ops
@guarded
def integrations_list(ops: Ops, as_json: bool) -> None:
    """All integrations, oldest first."""

    docs = [i.to_public() for i in ops.store.all()]
    rows = [
        (
            d["id"],
            d["status"],
            (d["jobber_account"] or {}).get("name", "-"),
            d["aircall_company_id"],
            d["message"] or "",
        )
        for d in docs
    ]
    emit(as_json, docs, table(rows, ["ID", "STATUS", "JOBBER ACCOUNT", "AIRCALL COMPANY", "MESSAGE"]))


@integrations.command("show")
@click.argument("integration_id")
@json_option
@pass_ops
@guarded
def integrations_show(ops: Ops, integration_id: str, as_json: bool) -> None:
    """One integration: status and why, settings, vendor identities, warnings."""

    doc = ops.store.require(integration_id).to_public()
    emit(as_json, doc, describe_integration(doc))


@integrations.command("settings")
@click.argument("integration_id")
@click.option("--file", "settings_file", type=click.Path(dir_okay=False), help="Replace with this JSON file.")
@click.option(
    "--set", "assignments", multiple=True, metavar="KEY=VALUE", help="Change one key (dotted; JSON value)."
)
@json_option
@pass_ops
@guarded
def integrations_settings(
    ops: Ops, integration_id: str, settings_file: str | None, assignments: tuple[str, ...], as_json: bool
) -> None:
    """Replace (--file) or change (--set) an integration's settings; invalid settings are refused whole."""

    if bool(settings_file) == bool(assignments):
        raise SettingsError("give either --file F.json or one or more --set key=value")
    store = ops.store
    integration = store.require(integration_id)
    if settings_file:
        new = load_settings_file(settings_file)
    else:
        new = integration.settings.with_changes(dict(parse_assignment(a) for a in assignments))
    apply_settings(integration_id, integration.settings, new, ops.settings)
    doc = store.require(integration_id).to_public()
    emit(as_json, doc, describe_integration(doc))


@integrations.command("link")
@click.argument("integration_id")
@click.option(
    "--ttl-minutes",
    default=60,
    show_default=True,
    type=click.IntRange(1, 7 * 24 * 60),
    help="How long the link works (it works once).",
)
@json_option
@pass_ops
@guarded
def integrations_link(ops: Ops, integration_id: str, ttl_minutes: int, as_json: bool) -> None:
    """A one-time, expiring sign-in link to the integration's settings page (give it to its admin)."""

    url, expires_at = sign_in_link(integration_id, ttl_minutes * 60, ops.settings)
    expires = datetime.fromtimestamp(expires_at, UTC).isoformat(timespec="seconds")
    emit(as_json, {"url": url, "expires_at": expires}, f"{url}\n  works once, until {expires}")


@integrations.command("delete")
@click.argument("integration_id")
@json_option
@pass_ops
@guarded
def integrations_delete(ops: Ops, integration_id: str, as_json: bool) -> None:
    """Disconnect from Jobber (appDisconnect), delete the Aircall webhook, mark the integration deleted."""

    outcome = delete_integration(integration_id, "Deleted by an operator (ajctl)")
    doc = outcome.integration.to_public() | {"warnings": outcome.warnings}
    emit(as_json, doc, describe_integration(doc))
