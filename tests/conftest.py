"""Session plumbing: a private Redis (flushed per test), environment for the service, the ingest over HTTP."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from sandbox.redis_server import RedisServer

_server: RedisServer | None = None


def pytest_configure(config: pytest.Config) -> None:
    # Before any service module is imported: Celery reads REDIS_URL when worker.app is first imported.
    global _server
    _server = RedisServer()
    os.environ["REDIS_URL"] = _server.url
    os.environ["SECRET_KEY"] = "test-secret-key-for-the-suite"
    os.environ["PUBLIC_URL"] = "https://aj.example.test"
    os.environ.setdefault("RETRY_BACKOFF_MAX_S", "1")


def pytest_unconfigure(config: pytest.Config) -> None:
    if _server is not None:
        _server.stop()


@pytest.fixture
def r() -> Iterator[object]:
    from store.redis import sync_client

    client = sync_client()
    client.flushdb()
    yield client


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Change env vars for one test; the settings cache is reset before and after."""
    from config.settings import get_settings

    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def ingest_url() -> Iterator[str]:
    from ingest.app import create_app
    from sandbox.common import ServerThread

    server = ServerThread(create_app()).start()
    yield server.url
    server.stop()
