"""The README's run command, as a new user runs it: every role comes up healthy and the demo completes."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.flow, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def test_run_command_brings_up_every_role_and_plays_the_demo():
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("REDIS_URL", "SECRET_KEY", "PUBLIC_URL", "RETRY_", "SANDBOX_MODE"))
    }
    done = subprocess.run(
        ["bash", "scripts/run.sh", "--once"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "all roles healthy" in done.stderr
    assert "Flower" in done.stdout and "Sandbox Jobber" in done.stdout
    # The admin's page of the demo integration (a one-time link) and the install walk-through are printed.
    assert "/settings/login?token=" in done.stdout and "/install/aircall" in done.stdout
    summary = json.loads((ROOT / ".run" / "demo.json").read_text())
    assert summary["ok"] is True
    assert summary["integration"]["status"] == "active"
    assert summary["played"]["failed"] == 0 and summary["played"]["sent"] >= 50
    assert summary["outcomes"].get("pending", 0) == 0
