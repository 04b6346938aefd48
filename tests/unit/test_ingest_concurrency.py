"""Every way the ingest is started bounds how many requests it holds at once (uvicorn's --limit-concurrency:
503 beyond it, and the sender retries), so a flood of slow senders cannot grow its memory without bound: each
request in flight may hold a body of up to MAX_WEBHOOK_BYTES."""

from __future__ import annotations

import json
from pathlib import Path

from sandbox.fleet import Fleet

ROOT = Path(__file__).resolve().parents[2]


def limit(command: list[str]) -> int:
    assert "--limit-concurrency" in command, command
    return int(command[command.index("--limit-concurrency") + 1])


def compose_command(service: str) -> list[str]:
    lines = (ROOT / "docker-compose.yml").read_text().splitlines()
    start = lines.index(f"  {service}:")
    line = next(x for x in lines[start:] if x.strip().startswith("command:"))
    found: list[str] = json.loads(line.split("command:", 1)[1])
    return found


def test_the_procfile_compose_and_the_fleet_bound_the_ingest_alike() -> None:
    assert limit(Fleet.procfile_command("ingest", {})) == limit(compose_command("ingest")) == 512
    assert limit(Fleet.procfile_command("ingest", {"INGEST_MAX_CONCURRENCY": "64"})) == 64
    # The fleet (benchmarks, reliability tests) starts the Procfile's line itself.
    assert 'procfile_command("ingest"' in (ROOT / "sandbox" / "fleet.py").read_text()
