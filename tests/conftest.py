"""Session plumbing: a private Redis (flushed per test), environment for the service, the ingest over HTTP."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.redis_server import RedisServer

_server: RedisServer | None = None


def pytest_configure(config: pytest.Config) -> None:
    # Before any service module is imported: Celery reads REDIS_URL when worker.app is first imported.
    global _server
    _server = RedisServer()
    os.environ["REDIS_URL"] = _server.url
    os.environ["SANDBOX_MODE"] = "true"  # the sandbox vendors over plain http on loopback
    os.environ["SECRET_KEY"] = "test-secret-key-for-the-suite"
    os.environ["PUBLIC_URL"] = "https://aj.example.test"
    os.environ["METRICS_TOKEN"] = "test-metrics-token-for-the-suite"  # tests/support/metrics.py uses it
    os.environ.setdefault("RETRY_BACKOFF_MAX_S", "1")
    # The sandbox Jobber's default app credentials (token refresh in flows).
    os.environ["JOBBER_CLIENT_ID"] = "sandbox-client-id"
    os.environ["JOBBER_CLIENT_SECRET"] = "sandbox-client-secret"


def pytest_unconfigure(config: pytest.Config) -> None:
    if _server is not None:
        _server.stop()


@pytest.fixture
def r() -> Iterator[object]:
    from store.redis import sync_client

    client = sync_client()
    # Never flush anything but the suite's private Redis (a module imported too early would see the default).
    assert _server is not None and client.connection_pool.connection_kwargs.get("port") == _server.port, (
        "not the suite's private Redis"
    )
    metrics = sys.modules.get("worker.metrics")
    if metrics is not None:
        metrics.flush(client)  # counts an earlier test's tasks kept in memory go before the flush, not after
    client.flushdb()
    yield client


class SettingsEnv:
    """A MonkeyPatch whose env changes also reset the settings cache, each time: an embedded worker's
    background thread may read (and cache) the settings between a reset and the next `setenv`."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self._monkeypatch = monkeypatch

    def setenv(self, name: str, value: str, prepend: str | None = None) -> None:
        from config.settings import get_settings

        self._monkeypatch.setenv(name, value, prepend)
        get_settings.cache_clear()

    def delenv(self, name: str, raising: bool = True) -> None:
        from config.settings import get_settings

        self._monkeypatch.delenv(name, raising)
        get_settings.cache_clear()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._monkeypatch, name)


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[SettingsEnv]:
    """Change env vars for one test; the settings cache is reset at each change and after."""
    from config.settings import get_settings

    get_settings.cache_clear()
    yield SettingsEnv(monkeypatch)
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def ingest_url() -> Iterator[str]:
    from ingest.app import create_app
    from sandbox.common import ServerThread

    server = ServerThread(create_app()).start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def aircall_server() -> Iterator[str]:
    """The sandbox Aircall emulator over real HTTP."""
    from sandbox.aircall.app import create_app
    from sandbox.common import ServerThread

    server = ServerThread(create_app()).start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def jobber_server() -> Iterator[str]:
    """The sandbox Jobber emulator over real HTTP."""
    from sandbox.common import ServerThread
    from sandbox.jobber.app import create_app

    server = ServerThread(create_app()).start()
    yield server.url
    server.stop()


@pytest.fixture
def vendors(aircall_server, jobber_server, settings_env):
    """Point the service at the sandbox vendors (fresh state) for one test."""
    import requests

    for base in (aircall_server, jobber_server):
        requests.post(f"{base}/_sandbox/reset", timeout=5).raise_for_status()
    settings_env.setenv("AIRCALL_API_URL", aircall_server)
    settings_env.setenv("JOBBER_API_URL", f"{jobber_server}/api/graphql")
    settings_env.setenv("JOBBER_OAUTH_URL", f"{jobber_server}/api/oauth")
    yield type("Vendors", (), {"aircall": aircall_server, "jobber": jobber_server})
    # Jobber's webhooks go out in the background: the ones this test caused are delivered now, not into the
    # next test (after its Redis was flushed), where a stray APP_DISCONNECT would enqueue work of its own.
    requests.post(f"{jobber_server}/_sandbox/reset", timeout=30)


@pytest.fixture(scope="module")
def worker() -> Iterator[object]:
    """A real Celery worker (threads) in this process, consuming every queue, for one test module."""
    from celery.contrib.testing.worker import start_worker

    from config.queues import ALL_QUEUES
    from worker.app import app

    with start_worker(
        app,
        pool="threads",
        concurrency=4,
        perform_ping_check=False,
        queues=list(ALL_QUEUES),
        shutdown_timeout=20,
    ) as w:
        yield w


@pytest.fixture
def site(vendors, settings_env):
    """The ingest (with the admin pages) served at its own PUBLIC_URL, so a browser can follow every redirect,
    with the sandbox Aircall's OAuth app configured for the partner install."""
    import socket

    import requests

    from config.settings import Settings, get_settings
    from ingest.app import create_app
    from sandbox.common import ServerThread

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    settings_env.setenv("PUBLIC_URL", url)
    settings_env.setenv("AIRCALL_OAUTH_URL", f"{vendors.aircall}/oauth")
    settings_env.setenv("AIRCALL_CLIENT_ID", "sandbox-client-id")
    settings_env.setenv("AIRCALL_CLIENT_SECRET", "sandbox-client-secret")
    get_settings.cache_clear()
    # The Jobber app's URLs, as registered in Jobber's Developer Center (README: install and connect).
    app_urls = {
        "oauth_callback_url": f"{url}/oauth/jobber/callback",
        "manage_app_url": f"{url}/jobber/manage",
    }
    requests.post(f"{vendors.jobber}/_sandbox/app", json=app_urls, timeout=5).raise_for_status()
    server = ServerThread(create_app(Settings()), port=port).start()
    yield type("Site", (), {"url": url, "aircall": vendors.aircall, "jobber": vendors.jobber})
    server.stop()
    requests.post(f"{vendors.jobber}/_sandbox/app", json=dict.fromkeys(app_urls), timeout=5)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless chromium for one test module (cookies cleared by the tests that need a fresh browser)."""
    import shutil

    from tests.support.browser import start_chromium

    driver, profile = start_chromium()
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser_without_js() -> Iterator[object]:
    """Headless chromium with JavaScript switched off on every page: forms must work without it."""
    import shutil

    from tests.support.browser import start_chromium

    driver, profile = start_chromium(javascript=False)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


# Markers are written on the tests themselves (a module's `pytestmark`, or a decorator), never applied from
# a list here: a renamed test keeps its marks. What each folder's tests must carry is checked instead, so
# a new module cannot forget it. `pytest -m "not slow"` (make test-fast) runs in about two minutes; make test
# and CI run everything.
REQUIRED_MARKS = {
    "flows/": {"flow"},  # end to end through ingest, Redis and a real worker
    "pages/": {"flow", "browser", "slow"},  # a real browser
    "reliability/": {"reliability", "slow"},  # real processes, faults and volume
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests_dir = os.path.dirname(os.path.abspath(__file__))
    missing = []
    for item in items:
        relative = os.path.relpath(str(item.path), tests_dir).replace(os.sep, "/")
        marks = {m.name for m in item.iter_markers()}
        for folder, required in REQUIRED_MARKS.items():
            if relative.startswith(folder) and not required <= marks:
                missing.append(f"{item.nodeid}: needs {sorted(required - marks)}")
    if missing:
        raise pytest.UsageError("tests without their folder's markers:\n" + "\n".join(missing[:20]))
