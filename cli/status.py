"""`ajctl status`: the fleet's health, read from Redis (flows/status.py)."""

from __future__ import annotations

from typing import Any

import click

from cli.common import Ops, guarded, json_option, pass_ops
from cli.output import emit, table
from flows.status import fleet_status


@click.command("status")
@json_option
@pass_ops
@guarded
def status(ops: Ops, as_json: bool) -> None:
    """Queues, pending events, dead letters, integrations, throttled ones, workers, beat's last
    runs, Jobber API version warnings."""
    doc = fleet_status(ops.r, ops.settings)
    emit(as_json, doc, describe_status(doc))


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 120:
        return f"{value:.0f}s"
    return f"{value / 60:.0f}m" if value < 7200 else f"{value / 3600:.1f}h"


def describe_status(doc: dict[str, Any]) -> str:
    queues = table(
        [(q["queue"], q["ready"], q["in_lanes"], _seconds(q["oldest_age_s"])) for q in doc["queues"]],
        ["queue", "ready", "in lanes", "oldest waiting"],
    )
    events = doc["events"]
    integrations = ", ".join(f"{k} {v}" for k, v in doc["integrations"].items())
    workers = table(
        [
            (w["name"], w["pid"], w["held"], _seconds(w["last_beat_age_s"]) + " ago", _seconds(w["up_s"]))
            for w in doc["workers"]
        ],
        ["worker", "pid", "holding", "last heartbeat", "up"],
    )
    throttled = (
        "\n".join(
            (
                f"  {t['integration']}: {t['refused']} refused ({t['reason']}), "
                f"last {_seconds(t['last_refused_age_s'])} ago"
            )
            for t in doc["throttled"]
        )
        or "  none in the last day"
    )
    beat = (
        table(
            [
                (
                    b["task"],
                    _seconds(b["every_s"]),
                    "never" if b["last_run_age_s"] is None else _seconds(b["last_run_age_s"]) + " ago",
                    "OVERDUE: is beat running?" if b["overdue"] else "ok",
                )
                for b in doc["beat"]
            ],
            ["beat job", "every", "last run", "state"],
        )
        if doc["beat"]
        else "Beat jobs: none known yet (a worker lists them when it starts)"
    )
    version = doc["jobber_api_version"]
    if version["warnings"]:
        notices = "\n".join(
            f"  {w['requested']} → answered as {w['answered']}, last seen {w['last_seen_at']} "
            f"({w['count']} answers): {w['warning'] or 'served with another version, without a warning'}"
            for w in version["warnings"]
        )
    else:
        notices = "  none seen"
    return "\n".join(
        [
            queues,
            f"\nDelayed retries: {doc['delayed']}   held by workers: {doc['unacked']}",
            f"Events pending: {events['pending']} (oldest {_seconds(events['oldest_pending_age_s'])})",
            f"Dead letters: {doc['dead_letters']}",
            f"Integrations: {integrations}",
            (
                "Webhooks refused with 429 (tenant limits; Aircall disables a webhook after ~10 failures "
                "in a row):"
            ),
            throttled,
            "\n" + (workers if doc["workers"] else "Workers: no heartbeat in the last minute"),
            "\n" + beat,
            f"\nJobber API version {version['configured']} warnings:",
            notices,
        ]
    )
