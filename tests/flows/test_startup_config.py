"""Roles started as production starts them, outside sandbox mode with a configuration that must not run: each
exits non-zero at once with one line naming the variable and what to do, before touching Redis or a vendor."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.fleet import Fleet

pytestmark = pytest.mark.flow

ROOT = Path(__file__).resolve().parents[2]


def production_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SANDBOX_MODE", "SECRET_KEY", "PUBLIC_URL")}
    # A Redis nobody listens on: a role that got as far as connecting would hang or fail differently.
    return env | {"REDIS_URL": "redis://127.0.0.1:1/0", "PUBLIC_URL": "http://aj.example.com"} | overrides


def start(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_the_ingest_refuses_an_http_public_url_outside_sandbox_mode():
    done = start(
        [sys.executable, "-m", "uvicorn", "ingest.app:app", "--host", "127.0.0.1", "--port", "0"],
        production_env(SECRET_KEY="Zq4-rT9vXw2Lp7Ns1Kd8Hf3Bj6Mc0Ga5Ye"),
    )

    assert done.returncode != 0
    assert "ingest: configuration error: PUBLIC_URL must be an https:// URL" in done.stderr
    assert "SANDBOX_MODE=true" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("role", ["worker", "beat"])
def test_the_celery_roles_refuse_to_start_without_a_secret_key(role: str):
    env = production_env(PUBLIC_URL="https://aj.example.com")
    command = Fleet.procfile_command(role, env)

    done = start([sys.executable, "-m", *command], env)  # as the fleet runs it: this venv's celery

    assert done.returncode != 0
    assert "configuration error: SECRET_KEY is not set" in done.stderr
    assert "Traceback" not in done.stderr


def test_ajctl_refuses_with_the_same_message():
    done = start([str(Path(sys.executable).with_name("ajctl")), "integrations", "list"], production_env())

    assert done.returncode != 0
    assert done.stderr.startswith("error: PUBLIC_URL must be an https:// URL")
    assert "SECRET_KEY is not set" in done.stderr


def test_sandbox_mode_is_what_lets_http_through():
    """The same command with SANDBOX_MODE=true gets past the configuration (and then needs Redis)."""
    done = start(
        [
            sys.executable,
            "-c",
            "from config.settings import get_settings; print(get_settings().secret_key().current[:3])",
        ],
        production_env(SANDBOX_MODE="true"),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "aj-"


@pytest.mark.parametrize("key", ["short-SECRET", "changeme-changeme-changeme-changeme"])
def test_the_ingest_refuses_a_short_or_predictable_secret_key(key: str):
    done = start(
        [sys.executable, "-m", "uvicorn", "ingest.app:app", "--host", "127.0.0.1", "--port", "0"],
        production_env(PUBLIC_URL="https://aj.example.com", SECRET_KEY=key),
    )

    assert done.returncode == 2
    assert "ingest: configuration error: SECRET_KEY is too" in done.stderr
    assert key not in done.stderr
    assert "Traceback" not in done.stderr
