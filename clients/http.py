"""Shared HTTP plumbing for the adapters: a keep-alive connection pool per vendor, timeouts, and transport
errors → Transient.

Vendor calls go through urllib3, the connection pool `requests` itself runs on. Measured on a logged call,
`requests`' session layer (merging settings, cookie jars, hooks, environment lookups) was half of each vendor
request's CPU and adds nothing an adapter needs: every call sends its own auth headers, nothing is kept
between tenants (no cookies), and JSON goes through orjson. When the environment asks for a proxy, calls go
through a `requests` session instead, which honours HTTP(S)_PROXY and NO_PROXY.
"""

from __future__ import annotations

import base64
import functools
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar, cast
from urllib.parse import urlencode, urlsplit

import orjson
import requests
import urllib3
from opentelemetry.trace import SpanKind, Status, StatusCode

from clients.errors import Transient
from config import tracing

log = logging.getLogger(__name__)

POOL_SIZE = 256  # connections kept per vendor host: at least the worker's concurrency
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@dataclass(frozen=True)
class Reply:
    """What an adapter reads of a vendor's answer."""

    status_code: int
    headers: Mapping[str, str]  # case-insensitive
    content: bytes
    reason: str

    def json(self) -> Any:
        return orjson.loads(self.content)


class Transport:
    """One pooled, keep-alive client per vendor per process; thread-safe (urllib3's pool)."""

    def __init__(self) -> None:
        self._pool = urllib3.PoolManager(num_pools=8, maxsize=POOL_SIZE, retries=False)
        self._proxied = _proxied_session() if _proxy_configured() else None

    def request(
        self,
        method: str,
        url: str,
        timeout: float,
        *,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> Reply:
        if self._proxied is not None:
            return _via_requests(
                self._proxied,
                method,
                url,
                timeout,
                json=json,
                data=data,
                params=params,
                headers=headers,
                auth=auth,
            )
        sent = dict(headers or {})
        body: bytes | None = None
        if json is not None:
            body = orjson.dumps(json)
            sent.setdefault("Content-Type", "application/json")
        elif data is not None:
            body = urlencode(data).encode()
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if auth is not None:
            sent["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        if params:
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
        answer = self._pool.request(
            method,
            url,
            body=body,
            headers=sent,
            redirect=False,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
        )
        return Reply(answer.status, answer.headers, answer.data, answer.reason or "")


def _proxy_configured() -> bool:
    return any(os.environ.get(v) or os.environ.get(v.upper()) for v in _PROXY_VARIABLES)


def _proxied_session() -> requests.Session:
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _via_requests(session: requests.Session, method: str, url: str, timeout: float, **kw: Any) -> Reply:
    # Cookies are never kept between calls (tenants share the session): a fresh jar every time.
    answer = session.request(method, url, timeout=timeout, cookies={}, allow_redirects=False, **kw)
    session.cookies.clear()
    return Reply(answer.status_code, answer.headers, answer.content, answer.reason or "")


def new_session() -> Transport:
    return Transport()


@lru_cache(maxsize=8)
def shared_session(vendor: str) -> Transport:
    """One transport per vendor per process: keep-alive connections are reused across tasks instead of a new
    TCP (and TLS) connection for every task."""
    return Transport()


SendFunction = TypeVar("SendFunction", bound=Callable[..., Reply])


def traced(send: SendFunction) -> SendFunction:
    """With tracing on (config/tracing.py), each vendor request in a client span: vendor, method, host, path
    (never the query string), GraphQL operation name, status. Never headers or bodies. Off: one check."""

    @functools.wraps(send)
    def traced_send(
        transport: Transport, vendor: str, method: str, url: str, timeout: float, **kw: Any
    ) -> Reply:
        if not tracing.enabled():
            return send(transport, vendor, method, url, timeout, **kw)
        parts = urlsplit(url)
        attributes: dict[str, str | int] = {
            "aj.vendor": vendor,
            "http.request.method": method,
            "server.address": parts.hostname or "",
            "url.path": parts.path,
        }
        if parts.port:
            attributes["server.port"] = parts.port
        name = f"{method} {vendor}"
        payload = kw.get("json")
        operation = tracing.graphql_operation(payload.get("query")) if isinstance(payload, dict) else None
        if operation is not None:
            attributes["graphql.operation.type"], attributes["graphql.operation.name"] = operation
            name = f"{name} {operation[1]}"
        with tracing.span(name, attributes, kind=SpanKind.CLIENT) as span:
            reply = send(transport, vendor, method, url, timeout, **kw)
            span.set_attribute("http.response.status_code", reply.status_code)
            if reply.status_code >= 400:
                span.set_status(Status(StatusCode.ERROR, f"HTTP {reply.status_code}"))
            return reply

    return cast(SendFunction, traced_send)


@traced
def send(transport: Transport, vendor: str, method: str, url: str, timeout: float, **kw: Any) -> Reply:
    """One request; a timeout or connection failure becomes `Transient` (the retry policy decides)."""
    started = time.monotonic()
    try:
        reply = transport.request(method, url, timeout, **kw)
    except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as exc:
        kind = type(exc).__name__.lower()
        _observe(vendor, kind, time.monotonic() - started)
        raise Transient(f"{vendor} {method} {_path(url)}: {type(exc).__name__}", vendor=vendor) from None
    _observe(vendor, str(reply.status_code), time.monotonic() - started)
    return reply


# Observers of every vendor request (vendor, status or error kind, seconds it took): the worker counts them
# for /metrics. A hook rather than a metrics call, so the adapters stay free of storage.
REQUEST_OBSERVERS: list[Callable[[str, str, float], None]] = []


def _observe(vendor: str, status: str, elapsed_s: float) -> None:
    for observer in REQUEST_OBSERVERS:
        try:
            observer(vendor, status, elapsed_s)
        except Exception:  # metrics must never break a vendor call
            log.debug("clients.http.observer_failed", exc_info=True)


def _path(url: str) -> str:
    # Paths only in messages: never query strings (they may carry codes or tokens).
    return url.split("?", 1)[0]


def json_or_empty(response: Reply) -> Any:
    try:
        return response.json()
    except ValueError:
        return {}
