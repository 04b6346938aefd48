"""CLI output: one JSON document on stdout with --json, aligned tables otherwise. Logs go to stderr."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click


def emit(as_json: bool, data: Any, human: str | None = None) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        click.echo(human if human is not None else json.dumps(data, indent=2, default=str))


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    if not rows:
        return "(none)"
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def describe_integration(doc: dict[str, Any]) -> str:
    account = doc.get("jobber_account") or {}
    lines = [
        f"Integration {doc['id']}",
        f"  status:             {doc['status']}" + (f" — {doc['message']}" if doc.get("message") else ""),
        (
            f"  aircall company:    {doc.get('aircall_company_id') or '-'}"
            f" (rate budget: {doc.get('aircall_budget_key') or '-'})"
        ),
        f"  aircall webhook:    {doc.get('aircall_webhook_id') or '-'}",
        f"  jobber account:     {account.get('name', '-')} {('(' + account['id'] + ')') if account else ''}",
        f"  created / updated:  {doc.get('created_at')} / {doc.get('updated_at')}",
        "  settings:           " + json.dumps(doc.get("settings"), sort_keys=True),
    ]
    unavailable = doc.get("ai_logging_unavailable")
    if unavailable:
        lines.append(
            f"  ai logging:         unavailable since {unavailable['since']}: {unavailable['reason']}"
        )
    lines += [f"  warning: {w}" for w in doc.get("warnings") or []]
    return "\n".join(lines)
