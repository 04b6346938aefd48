"""`ajctl secrets reencrypt`: reseal every stored secret with the current SECRET_KEY (after a rotation)."""

from __future__ import annotations

import sys
from typing import Any

import click
from tqdm import tqdm

from cli.common import Ops, fail, guarded, json_option, pass_ops
from cli.output import emit
from flows.rekey import KINDS, reencrypt, stored_secrets

NAMES = {"integrations": "integrations", "pending_jobber": "waiting Jobber consents"}


@click.group()
def secrets() -> None:
    """Stored secrets (vendor tokens): SECRET_KEY rotation."""


@secrets.command("reencrypt")
@json_option
@pass_ops
@guarded
def secrets_reencrypt(ops: Ops, as_json: bool) -> None:
    """Re-encrypt every stored token with SECRET_KEY, opening what SECRET_KEY_PREVIOUS sealed.

    Run it after every role restarted with the new SECRET_KEY and the old one as
    SECRET_KEY_PREVIOUS; then SECRET_KEY_PREVIOUS can be removed. Safe to rerun: values already
    sealed with SECRET_KEY are left alone, and a token a worker refreshes meanwhile is never
    overwritten. Exits 1 if some value opens with neither key.
    """
    records = stored_secrets(ops.settings)
    quiet = as_json and not sys.stderr.isatty()
    with tqdm(total=len(records), desc="records", unit="record", file=sys.stderr, disable=quiet) as bar:
        summary = reencrypt(records, ops.settings, progress=lambda _: bar.update())
    emit(as_json, summary, describe(summary))
    if summary["unreadable"]:
        fail(
            f"{summary['unreadable']} record(s) open with neither SECRET_KEY nor SECRET_KEY_PREVIOUS"
            " (listed above)"
        )


def describe(summary: dict[str, Any]) -> str:
    lines = []
    for kind in KINDS:
        t = summary[kind]
        line = (
            f"{NAMES[kind]}: {t['resealed']} re-encrypted, {t['current']} already current, "
            f"{t['empty']} without secrets"
        )
        if t["unreadable"]:
            line += f", unreadable: {', '.join(t['unreadable'])}"
        lines.append(line)
    if not summary["previous_key_set"]:
        lines.append("(SECRET_KEY_PREVIOUS is not set: only values sealed with SECRET_KEY can be read)")
    return "\n".join(lines)
