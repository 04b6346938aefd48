"""Shared HTTP plumbing for the adapters: a pooled session, timeouts, and transport errors → Transient."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import requests

from clients.errors import Transient

log = logging.getLogger("clients.http")


def new_session() -> requests.Session:
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


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
