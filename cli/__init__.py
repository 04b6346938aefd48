"""ajctl: the operator CLI (SPEC §2). One click group; settings and stores are built once per run and
passed down in the click context (cli/common.py `Ops`). `--json` prints one JSON document."""

from __future__ import annotations

import logging
import os
import sys

import click

from cli.common import Ops
from cli.demo import demo
from cli.events import events
from cli.integrations import integrations
from cli.secrets import secrets
from cli.status import status
from cli.vendors import backfill, sync
from config.logging import configure as configure_logging


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log at debug level (stderr).")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """Operate the Aircall ↔ Jobber service."""
    # Readable lines on stderr for an operator (LOG_FORMAT=json for machines); stdout stays the
    # command's output.
    configure_logging(
        logging.DEBUG if verbose else logging.WARNING, os.environ.get("LOG_FORMAT") or "text", sys.stderr
    )
    ctx.obj = Ops()


for group in (status, integrations, events, sync, backfill, demo, secrets):
    main.add_command(group)

__all__ = ["main"]
