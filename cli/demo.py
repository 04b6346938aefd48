"""`ajctl demo` (SPEC §2, §8): runs the sandbox's demo, `python -m sandbox.demo`, in a child process.

The demo belongs to the sandbox, a development tool that production images and packages leave out; the CLI
keeps the command for the README's run command and never imports the sandbox.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from cli.common import fail


@click.command("demo")
@click.option("--summary-file", type=click.Path(dir_okay=False), help="Also write the summary JSON here.")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait for the events to settle.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
def demo(summary_file: str | None, timeout: float, as_json: bool) -> None:
    """Install an integration on the sandbox vendors and play a realistic mix of calls and texts."""
    checkout = Path(__file__).resolve().parents[1]
    if not (checkout / "sandbox" / "demo.py").is_file():
        fail("the demo needs the sandbox vendors, which only a development checkout has (not this install)")
    path = os.pathsep.join(p for p in (str(checkout), os.environ.get("PYTHONPATH", "")) if p)
    args = [sys.executable, "-m", "sandbox.demo", "--timeout", str(timeout)]
    if summary_file:
        args += ["--summary-file", summary_file]
    if as_json:
        args.append("--json")
    # Sandbox mode (SANDBOX_MODE): the demo talks to the sandbox vendors only, and says so if
    # they are not there.
    code = subprocess.call(args, env=os.environ | {"PYTHONPATH": path, "SANDBOX_MODE": "true"})  # noqa: S603 (our own fixed command)
    if code:
        sys.exit(code)
