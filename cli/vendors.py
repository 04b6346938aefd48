"""`ajctl sync` and `ajctl backfill`: vendor work run in this process, with a progress bar."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click
from tqdm import tqdm

from cli.common import Ops, guarded, json_option, pass_ops, require_active
from cli.output import emit
from flows.contact_sync import Syncer
from flows.reconcile import backfill as backfill_calls_since


@click.group()
def sync() -> None:
    """Contact sync (Jobber clients → Aircall contacts)."""


@sync.command("contacts")
@click.argument("integration_id")
@click.option("--full", is_flag=True, help="Every client, not only those changed since the last sweep.")
@json_option
@pass_ops
@guarded
def sync_contacts(ops: Ops, integration_id: str, full: bool, as_json: bool) -> None:
    """Sync now, in this process, within the company's Aircall budget (waits when it is spent)."""
    integration = require_active(ops, integration_id)
    with tqdm(
        desc="clients", unit="client", file=sys.stderr, disable=as_json and not sys.stderr.isatty()
    ) as bar:
        counts = Syncer(integration, wait_for_budget=True).sweep(full=full, progress=lambda _: bar.update())
    human = ", ".join(f"{k} {v}" for k, v in counts.items())
    emit(as_json, counts, human)


@click.group()
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
@pass_ops
@guarded
def backfill_calls(ops: Ops, integration_id: str, since: datetime, as_json: bool) -> None:
    """Log every ended call on a connected number since ISO (Aircall keeps ~6 months), through the same flow
    and idempotency as webhooks: calls already logged are left alone, and every call not logged is counted as
    skipped, with its reason, on every run."""
    integration = require_active(ops, integration_id)
    start = since if since.tzinfo else since.replace(tzinfo=UTC)
    with tqdm(desc="calls", unit="call", file=sys.stderr, disable=as_json and not sys.stderr.isatty()) as bar:
        summary = backfill_calls_since(integration, start.timestamp(), progress=lambda _: bar.update())
    counts = ", ".join(f"{k} {v}" for k, v in summary.items() if k != "reasons")
    reasons = [f"  skipped {n}: {reason}" for reason, n in summary["reasons"].items()]
    emit(as_json, summary, "\n".join([counts, *reasons]))
