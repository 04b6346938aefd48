"""`ajctl events`: failed events, one event's record, and replay through the same idempotency."""

from __future__ import annotations

import json
import sys
from datetime import datetime

import click
from tqdm import tqdm

from cli.common import Ops, guarded, json_option, pass_ops
from cli.output import emit, table
from config.integration import SettingsError
from flows.replay import replay, select_for_replay
from store.dead_letters import DeadLetters
from store.ledger import Ledger


@click.group()
def events() -> None:
    """Inspect and replay events."""


@events.command("failed")
@click.option("--integration", "integration_id")
@json_option
@pass_ops
@guarded
def events_failed(ops: Ops, integration_id: str | None, as_json: bool) -> None:
    """Dead-lettered events: retries exhausted or a permanent error."""

    letters = [d.to_public() for d in DeadLetters(ops.r).list(integration_id)]
    rows = [
        (
            d["id"],
            d["integration"],
            d["event"],
            d["resource_id"],
            d["attempts"],
            d["last_failed_at"],
            (d["error"] or "").splitlines()[0][:60],
        )
        for d in letters
    ]
    emit(
        as_json,
        letters,
        table(rows, ["ID", "INTEGRATION", "EVENT", "RESOURCE", "ATTEMPTS", "LAST FAILED", "ERROR"]),
    )


@events.command("show")
@click.argument("event_id")
@json_option
@pass_ops
@guarded
def events_show(ops: Ops, event_id: str, as_json: bool) -> None:
    """One event: raw payload (token redacted; kept until the event settles), outcome, attempts and skips."""

    doc = Ledger(ops.r).show(event_id)
    if doc is None:
        raise KeyError(f"no event {event_id} (unknown, or older than the retention window)")
    lines = [
        f"Event {doc['id']}  {doc['event']}  resource {doc['resource_id']}",
        f"  integration: {doc['integration']}",
        f"  received:    {doc['received_at']}",
        f"  outcome:     {doc['outcome']}" + (f" — {doc['reason']}" if doc.get("reason") else ""),
    ]
    lines += [
        f"  attempt {a['at']} {a.get('task', '')} {a['kind']}: {a.get('error', '')}" for a in doc["attempts"]
    ]
    lines += [f"  skip    {s['at']} {s['reason']}" for s in doc["skips"]]
    if doc["raw"] is not None:
        lines.append("  raw: " + json.dumps(doc["raw"])[:2000])
    else:  # kept only until the event settles (a failed one's lives in its dead letter): README, Redis memory
        lines.append(f"  raw: dropped when the event settled ({doc['raw_dropped_at']})")
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
@pass_ops
@guarded
def events_replay(
    ops: Ops,
    event_ids: tuple[str, ...],
    replay_all: bool,
    integration_id: str | None,
    since: datetime | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Re-run failed events through the same idempotency: a replay never duplicates."""

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
