"""ajctl: the operator CLI (SPEC §2). Integrations and failed events; `--json` prints one JSON document."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click

from config.integration import IntegrationSettings, SettingsError, parse_assignment
from config.settings import ConfigError, get_settings

json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")


def fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _store() -> Any:
    from tasks.vendors import store_for

    return store_for()


def _load_settings_file(path: str) -> IntegrationSettings:
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, ValueError) as exc:
        raise SettingsError(f"cannot read settings file {path}: {exc}") from None
    return IntegrationSettings.parse(doc)


def guarded(fn: Callable[..., None]) -> Callable[..., None]:
    """Turn expected failures into one clear line on stderr and a non-zero exit (no tracebacks)."""

    def run(*args: Any, **kwargs: Any) -> None:
        from clients.errors import VendorError
        from tasks.lifecycle import InstallError

        try:
            fn(*args, **kwargs)
        except (SettingsError, InstallError, ConfigError, VendorError, RuntimeError) as exc:
            fail(str(exc))
        except KeyError as exc:
            fail(str(exc.args[0]) if exc.args else "not found", code=2)

    run.__name__ = fn.__name__
    run.__doc__ = fn.__doc__
    return run


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log at debug level (stderr).")
def main(verbose: bool) -> None:
    """Operate the Aircall ↔ Jobber service."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s %(message)s",
    )


# ---- integrations ------------------------------------------------------------------------------


@main.group()
def integrations() -> None:
    """Create, inspect, configure and delete integrations."""


@integrations.command("create")
@click.option("--aircall-api-id", required=True)
@click.option("--aircall-api-token", required=True)
@click.option("--jobber-access-token")
@click.option("--jobber-refresh-token")
@click.option("--settings", "settings_file", type=click.Path(dir_okay=False), help="Settings JSON file.")
@json_option
@guarded
def integrations_create(
    aircall_api_id: str,
    aircall_api_token: str,
    jobber_access_token: str | None,
    jobber_refresh_token: str | None,
    settings_file: str | None,
    as_json: bool,
) -> None:
    """Register the Aircall webhook, read the Jobber account, store the integration."""
    from tasks.lifecycle import install_with_api_key
    from worker.output import describe_integration, emit

    integration_settings = _load_settings_file(settings_file) if settings_file else IntegrationSettings()
    outcome = install_with_api_key(
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
@guarded
def integrations_list(as_json: bool) -> None:
    """All integrations, oldest first."""
    from worker.output import emit, table

    docs = [i.to_public() for i in _store().all()]
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
@guarded
def integrations_show(integration_id: str, as_json: bool) -> None:
    """One integration: status and why, settings, vendor identities, warnings."""
    from worker.output import describe_integration, emit

    doc = _store().require(integration_id).to_public()
    emit(as_json, doc, describe_integration(doc))


@integrations.command("settings")
@click.argument("integration_id")
@click.option("--file", "settings_file", type=click.Path(dir_okay=False), help="Replace with this JSON file.")
@click.option(
    "--set", "assignments", multiple=True, metavar="KEY=VALUE", help="Change one key (dotted; JSON value)."
)
@json_option
@guarded
def integrations_settings(
    integration_id: str, settings_file: str | None, assignments: tuple[str, ...], as_json: bool
) -> None:
    """Replace (--file) or change (--set) an integration's settings; invalid settings are refused whole."""
    from tasks.lifecycle import apply_settings
    from worker.output import describe_integration, emit

    if bool(settings_file) == bool(assignments):
        raise SettingsError("give either --file F.json or one or more --set key=value")
    store = _store()
    integration = store.require(integration_id)
    if settings_file:
        new = _load_settings_file(settings_file)
    else:
        new = integration.settings.with_changes(dict(parse_assignment(a) for a in assignments))
    apply_settings(integration_id, integration.settings, new)
    doc = store.require(integration_id).to_public()
    emit(as_json, doc, describe_integration(doc))


@integrations.command("link")
@click.argument("integration_id")
@click.option("--ttl-minutes", default=60, show_default=True, type=click.IntRange(1, 7 * 24 * 60),
              help="How long the link works (it works once).")  # fmt: skip
@json_option
@guarded
def integrations_link(integration_id: str, ttl_minutes: int, as_json: bool) -> None:
    """A one-time, expiring sign-in link to the integration's settings page (give it to its admin)."""
    from tasks.lifecycle import sign_in_link
    from worker.output import emit

    url, expires_at = sign_in_link(integration_id, ttl_minutes * 60)
    expires = datetime.fromtimestamp(expires_at, UTC).isoformat(timespec="seconds")
    emit(as_json, {"url": url, "expires_at": expires}, f"{url}\n  works once, until {expires}")


@integrations.command("delete")
@click.argument("integration_id")
@json_option
@guarded
def integrations_delete(integration_id: str, as_json: bool) -> None:
    """Disconnect from Jobber (appDisconnect), delete the Aircall webhook, mark the integration deleted."""
    from tasks.lifecycle import delete_integration
    from worker.output import describe_integration, emit

    outcome = delete_integration(integration_id, "Deleted by an operator (ajctl)")
    doc = outcome.integration.to_public() | {"warnings": outcome.warnings}
    emit(as_json, doc, describe_integration(doc))


# ---- events ------------------------------------------------------------------------------------


@main.group()
def events() -> None:
    """Inspect and replay events."""


@events.command("failed")
@click.option("--integration", "integration_id")
@json_option
@guarded
def events_failed(integration_id: str | None, as_json: bool) -> None:
    """Dead-lettered events: retries exhausted or a permanent error."""
    from store.dead_letters import DeadLetters
    from store.redis import sync_client
    from worker.output import emit, table

    letters = [d.to_public() for d in DeadLetters(sync_client()).list(integration_id)]
    rows = [(d["id"], d["integration"], d["event"], d["resource_id"], d["attempts"], d["last_failed_at"],
             (d["error"] or "").splitlines()[0][:60]) for d in letters]  # fmt: skip
    emit(
        as_json,
        letters,
        table(rows, ["ID", "INTEGRATION", "EVENT", "RESOURCE", "ATTEMPTS", "LAST FAILED", "ERROR"]),
    )


@events.command("show")
@click.argument("event_id")
@json_option
@guarded
def events_show(event_id: str, as_json: bool) -> None:
    """One event: raw payload (token redacted), outcome, attempts and skips."""
    from store.ledger import Ledger
    from store.redis import sync_client
    from worker.output import emit

    doc = Ledger(sync_client()).show(event_id)
    if doc is None:
        raise KeyError(f"no event {event_id} (unknown, or older than the retention window)")
    lines = [f"Event {doc['id']}  {doc['event']}  resource {doc['resource_id']}",
             f"  integration: {doc['integration']}", f"  received:    {doc['received_at']}",
             f"  outcome:     {doc['outcome']}" + (f" — {doc['reason']}" if doc.get("reason") else "")]  # fmt: skip
    lines += [
        f"  attempt {a['at']} {a.get('task', '')} {a['kind']}: {a.get('error', '')}" for a in doc["attempts"]
    ]
    lines += [f"  skip    {s['at']} {s['reason']}" for s in doc["skips"]]
    lines.append("  raw: " + json.dumps(doc["raw"])[:2000])
    emit(as_json, doc, "\n".join(lines))


@events.command("replay")
@click.argument("event_ids", nargs=-1)
@click.option(
    "--all", "replay_all", is_flag=True, help="Every dead-lettered event (filtered by the options)."
)
@click.option("--integration", "integration_id")
@click.option(
    "--since", type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"])
)
@click.option("--dry-run", is_flag=True, help="Say what would be replayed; change nothing.")
@json_option
@guarded
def events_replay(
    event_ids: tuple[str, ...],
    replay_all: bool,
    integration_id: str | None,
    since: datetime | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Re-run failed events through the same idempotency: a replay never duplicates."""
    from tqdm import tqdm

    from worker.failures import replay, select_for_replay
    from worker.output import emit

    if bool(event_ids) == replay_all:
        raise SettingsError("give event ids or --all")
    selected, skipped = select_for_replay(list(event_ids), integration_id, since)
    replayed: list[str] = []
    for dead_id in tqdm(
        selected, desc="replaying", unit="event", file=sys.stderr, disable=dry_run or not selected
    ):
        if dry_run or replay(dead_id):
            replayed.append(dead_id)
        else:
            skipped.append(dead_id)  # another replay of it is under way
    result = {"replayed": len(replayed), "skipped": len(skipped), "ids": replayed, "dry_run": dry_run}
    human = f"{'would replay' if dry_run else 'replayed'} {len(replayed)}, skipped {len(skipped)}"
    emit(as_json, result, human + ("".join(f"\n  {i}" for i in replayed)))


# ---- sync and backfill ------------------------------------------------------------------------------


@main.group()
def sync() -> None:
    """Contact sync (Jobber clients → Aircall contacts)."""


@sync.command("contacts")
@click.argument("integration_id")
@click.option("--full", is_flag=True, help="Every client, not only those changed since the last sweep.")
@json_option
@guarded
def sync_contacts(integration_id: str, full: bool, as_json: bool) -> None:
    """Sync now, in this process, within the company's Aircall budget (waits when it is spent)."""
    from tqdm import tqdm

    from tasks.contact_sync import Syncer
    from worker.output import emit

    integration = _store().require(integration_id)
    if not integration.is_active:
        raise SettingsError(
            f"integration {integration_id} is {integration.status}: {integration.message or ''}"
        )
    with tqdm(
        desc="clients", unit="client", file=sys.stderr, disable=as_json and not sys.stderr.isatty()
    ) as bar:
        counts = Syncer(integration, wait_for_budget=True).sweep(full=full, progress=lambda _: bar.update())
    human = ", ".join(f"{k} {v}" for k, v in counts.items())
    emit(as_json, counts, human)


@main.group()
def backfill() -> None:
    """Log past activity."""


@backfill.command("calls")
@click.argument("integration_id")
@click.option(
    "--since",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]),
)
@json_option
@guarded
def backfill_calls(integration_id: str, since: datetime, as_json: bool) -> None:
    """Log every ended call on a connected number since ISO (Aircall keeps ~6 months), through the same flow
    and idempotency as webhooks: calls already logged are left alone."""
    from tqdm import tqdm

    from tasks.reconcile import backfill
    from worker.output import emit

    integration = _store().require(integration_id)
    if not integration.is_active:
        raise SettingsError(
            f"integration {integration_id} is {integration.status}: {integration.message or ''}"
        )
    start = since if since.tzinfo else since.replace(tzinfo=UTC)
    with tqdm(desc="calls", unit="call", file=sys.stderr, disable=as_json and not sys.stderr.isatty()) as bar:
        counts = backfill(integration, start.timestamp(), progress=lambda _: bar.update())
    emit(as_json, counts, ", ".join(f"{k} {v}" for k, v in counts.items()))


# ---- demo -----------------------------------------------------------------------------------------


@main.command("demo")
@click.option("--summary-file", type=click.Path(dir_okay=False), help="Also write the summary JSON here.")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait for the events to settle.")
@json_option
@guarded
def demo(summary_file: str | None, timeout: float, as_json: bool) -> None:
    """Install an integration on the sandbox vendors and play a realistic mix of calls and texts."""
    from sandbox.demo import run_demo
    from worker.output import emit

    summary = run_demo(get_settings(), settle_timeout_s=timeout)
    if summary_file:
        with open(summary_file, "w", encoding="utf-8") as fh:
            json.dump(summary, fh, indent=2)
    played, outcomes = summary["played"], summary["outcomes"]
    human = (
        f"integration {summary['integration']['id']} ({summary['integration']['status']}): "
        f"played {played['events']} events, HTTP {played['statuses']}; outcomes {outcomes}"
    )
    emit(as_json, summary, human)
    if not summary["ok"]:
        fail("the demo did not complete cleanly (see the summary)")


if __name__ == "__main__":
    main()
