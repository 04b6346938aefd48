"""Fixtures shared by the flow tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, int], None]:
    """Route `call.ended` to a test task; `fail_n` is how many of its runs fail first (tests read it)."""

    # Imported here, not at the top: a conftest is imported before the suite's private Redis is configured.
    from flows.routes import EVENT_TASKS
    from store.redis import sync_client

    def use(task_name: str, fail_n: int) -> None:
        monkeypatch.setitem(EVENT_TASKS, "call.ended", task_name)
        sync_client().set("test:fail_n", fail_n)

    return use


@pytest.fixture
def ingest_with() -> Iterator[Callable[..., str]]:
    """Start an ingest with these settings (besides the suite's environment), over real HTTP; returns its URL.
    Stopped after the test."""
    from config.settings import Settings
    from ingest.app import create_app
    from sandbox.common import ServerThread

    servers: list[ServerThread] = []

    def start(**settings: Any) -> str:
        server = ServerThread(create_app(Settings(**settings))).start()
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.stop()
