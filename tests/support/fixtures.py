"""Webhook payload fixtures: the files in tests/fixtures/, named `<event>__<variant>.json`.

Aircall bodies carry the webhook `token` as the placeholder `{{token}}`; `load(name, token=...)` and
`body(name, token=...)` put a live tenant's token in its place (the placeholder stays when none is given)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TOKEN = "{{token}}"


def names() -> list[str]:
    """Every fixture, by name (the file name without `.json`), sorted."""
    return sorted(path.stem for path in FIXTURES.glob("*.json"))


def event_of(name: str) -> str:
    """`call.ended__voicemail` → `call.ended`."""
    event, sep, variant = name.partition("__")
    if not (sep and event and variant):
        raise ValueError(f"fixture names are <event>__<variant>: {name!r}")
    return event


def body(name: str, token: str | None = None) -> str:
    """The raw JSON text, as a webhook would POST it."""
    event_of(name)
    text = (FIXTURES / f"{name.removesuffix('.json')}.json").read_text(encoding="utf-8")
    if token is not None:
        text = text.replace(TOKEN, json.dumps(token)[1:-1])
    return text


def load(name: str, token: str | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(body(name, token))
    return doc
