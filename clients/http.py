"""Shared HTTP plumbing for the adapters: a pooled session, timeouts, and transport errors → Transient."""

from __future__ import annotations

import http.cookiejar
import logging
import os
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import requests

from clients.errors import Transient

log = logging.getLogger("clients.http")


POOL_SIZE = 256  # connections kept per vendor host: at least the worker's concurrency
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def new_session() -> requests.Session:
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    # Sessions are shared by every tenant of a process: never keep a cookie one tenant's answer set.
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    if not any(os.environ.get(v) or os.environ.get(v.upper()) for v in _PROXY_VARIABLES):
        # No proxy configured: skip requests' scan of the whole environment on every request (a measurable
        # share of a logged call's CPU). With a proxy configured, requests keeps honouring it (and no_proxy).
        session.trust_env = False
    return session


@lru_cache(maxsize=8)
def shared_session(vendor: str) -> requests.Session:
    """One pooled session per vendor per process: keep-alive connections are reused across tasks instead of
    a new TCP (and TLS) connection for every task. urllib3's pool is thread-safe."""
    return new_session()


def send(
    session: requests.Session, vendor: str, method: str, url: str, timeout: float, **kw: Any
) -> requests.Response:
    """One request; a timeout or connection failure becomes `Transient` (the retry policy decides)."""
    try:
        response = session.request(method, url, timeout=timeout, **kw)
    except (requests.Timeout, requests.ConnectionError) as exc:
        _observe(vendor, type(exc).__name__.lower())
        raise Transient(f"{vendor} {method} {_path(url)}: {type(exc).__name__}", vendor=vendor) from None
    _observe(vendor, str(response.status_code))
    return response


# Observers of every vendor request (vendor, status or error kind): the worker counts them for /metrics.
# A hook rather than a metrics call, so the adapters stay free of storage.
REQUEST_OBSERVERS: list[Callable[[str, str], None]] = []


def _observe(vendor: str, status: str) -> None:
    for observer in REQUEST_OBSERVERS:
        try:
            observer(vendor, status)
        except Exception:  # metrics must never break a vendor call
            log.debug("clients.http.observer_failed", exc_info=True)


def _path(url: str) -> str:
    # Paths only in messages: never query strings (they may carry codes or tokens).
    return url.split("?", 1)[0]


def json_or_empty(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {}
