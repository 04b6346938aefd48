"""The ingest applies its proxies' X-Forwarded-For/-Proto itself, to its pages only (ingest/app.py `Ingest`);
uvicorn runs with `--no-proxy-headers` wherever the ingest is started, so nothing applies them twice and the
webhooks' hot path skips them."""

from __future__ import annotations

import asyncio
from typing import Any

from ingest.app import Ingest
from sandbox.fleet import Fleet
from tests.unit.test_ingest_concurrency import compose_command

FORWARDED = [(b"x-forwarded-for", b"203.0.113.7"), (b"x-forwarded-proto", b"https")]


class Seen:
    """An ASGI app that keeps the scope it was called with."""

    def __init__(self) -> None:
        self.scopes: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.scopes.append(dict(scope))


def call(app: Ingest, method: str, path: str, peer: str) -> None:
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": list(FORWARDED),
        "scheme": "http",
        "client": (peer, 40000),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        pass

    asyncio.run(app(scope, receive, send))


def test_a_trusted_proxy_forwards_the_visitors_address_and_scheme_to_the_pages() -> None:
    site, hook = Seen(), Seen()
    ingest = Ingest(site, {"/webhooks/aircall": hook}, "10.0.0.2")
    call(ingest, "GET", "/settings", "10.0.0.2")
    assert site.scopes[-1]["client"] == ("203.0.113.7", 0) and site.scopes[-1]["scheme"] == "https"
    call(ingest, "GET", "/settings", "198.51.100.9")  # not a proxy of ours: its headers are not believed
    assert site.scopes[-1]["client"] == ("198.51.100.9", 40000) and site.scopes[-1]["scheme"] == "http"


def test_webhooks_skip_the_proxy_headers() -> None:
    site, hook = Seen(), Seen()
    ingest = Ingest(site, {"/webhooks/aircall": hook}, "*")
    call(ingest, "POST", "/webhooks/aircall", "10.0.0.2")
    assert hook.scopes[-1]["client"] == ("10.0.0.2", 40000) and not site.scopes


def test_uvicorn_never_applies_them_too() -> None:
    assert "--no-proxy-headers" in Fleet.procfile_command("ingest", {})
    assert "--no-proxy-headers" in compose_command("ingest")
