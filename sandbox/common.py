"""Shared sandbox plumbing: run an ASGI app in a thread on a free port, and fault injection knobs."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from dataclasses import dataclass, field, fields
from typing import Any

import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send


@dataclass
class Faults:
    """Fault-injection knobs, changed at run time through `POST /_sandbox/faults` or directly in tests.

    latency_s: added to every vendor request; error_rate: share of requests answered `error_status`;
    fail_next: the next N requests answered `error_status`; throttle: every request is rate-limited
    (the vendor's own 429 / THROTTLED shape, applied by each emulator itself).
    """

    latency_s: float = 0.0
    error_rate: float = 0.0
    error_status: int = 503
    fail_next: int = 0
    throttle: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        # Not dataclasses.asdict: it deep-copies the lock, which cannot be copied.
        return {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}

    def update(self, **changes: Any) -> None:
        with self._lock:
            for key, value in changes.items():
                if key.startswith("_") or not hasattr(self, key):
                    raise ValueError(f"unknown fault knob: {key}")
                setattr(self, key, _coerce(getattr(self, key), value))

    def reset(self) -> None:
        self.update(latency_s=0.0, error_rate=0.0, error_status=503, fail_next=0, throttle=False)

    def next_error(self) -> int | None:
        """Status to fail this request with, or None. Consumes one `fail_next`."""
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return self.error_status
        if self.error_rate and random.random() < self.error_rate:
            return self.error_status
        return None


def _coerce(current: Any, value: Any) -> Any:
    if isinstance(current, bool):
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return bool(value)
    return type(current)(value)


class FaultMiddleware:
    """ASGI middleware: latency and injected 5xx for every request outside `/_sandbox` and the HTML page."""

    def __init__(
        self, app: ASGIApp, faults: Faults, exempt_prefixes: tuple[str, ...] = ("/_sandbox", "/ui")
    ) -> None:
        self.app = app
        self.faults = faults
        self.exempt = exempt_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt) or scope["path"] == "/":
            await self.app(scope, receive, send)
            return
        if self.faults.latency_s > 0:
            await asyncio.sleep(self.faults.latency_s)
        status = self.faults.next_error()
        if status is not None:
            body = {"error": "Injected fault", "troubleshoot": "sandbox fault injection"}
            response = JSONResponse(body, status)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def faults_endpoint(request: Request) -> Response:
    """GET shows the knobs; POST {knob: value, ...} changes them; POST {"reset": true} clears them."""
    faults: Faults = request.app.state.faults
    if request.method == "POST":
        body = await request.json()
        try:
            if body.pop("reset", False):
                faults.reset()
            faults.update(**body)
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, 400)
    return JSONResponse(faults.as_dict())


class ServerThread:
    """A uvicorn server in a daemon thread, on 127.0.0.1 and a free port unless one is given."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"):
        self.config = uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="auto")
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, daemon=True, name=f"sandbox-{port}")
        self.host = host

    def start(self, timeout: float = 10.0) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("sandbox server did not start")
            time.sleep(0.01)
        return self

    @property
    def port(self) -> int:
        sockets = self.server.servers[0].sockets
        return int(sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
