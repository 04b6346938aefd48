"""Jobber GraphQL adapter (https://developer.getjobber.com/docs/using_jobbers_api/api_queries_and_mutations).

Documents are parsed and validated with `gql`; transport is plain `requests` so this adapter sees the raw
status and the plain-JSON, non-GraphQL error bodies Jobber uses for disconnected or inactive accounts
(jobber-api.md §1.3), which a GraphQL transport would hide behind a protocol error.

Errors: HTTP 429 and `THROTTLED` → RateLimited (THROTTLED waits (requested - available) / restoreRate);
5xx, timeouts, "Service temporarily unavailable" → Transient; disconnected / inactive account → Disconnected;
expired token (401) → Unauthorized (a token refresh fixes it); other GraphQL errors and userErrors → Permanent.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

import requests
from gql import gql
from graphql import DocumentNode, print_ast

from clients.errors import Disconnected, Permanent, RateLimited, Transient
from clients.http import json_or_empty, new_session, send

log = logging.getLogger("clients.jobber")
VENDOR = "jobber"
DEFAULT_429_WAIT_S = 30.0


class Unauthorized(Permanent):
    """HTTP 401: the access token expired or is invalid. The token-refresh wrapper retries once."""


@dataclass(frozen=True)
class ThrottleStatus:
    maximum: float
    available: float
    restore_rate: float


@dataclass(frozen=True)
class Account:
    id: str
    name: str


@lru_cache(maxsize=128)
def document(source: str) -> str:
    """Parse (syntax-check) a GraphQL document once and return its canonical text."""
    parsed = gql(source)
    # gql 4 wraps the document in a GraphQLRequest; gql 3 returned the DocumentNode itself.
    node = cast(DocumentNode, getattr(parsed, "document", parsed))
    return print_ast(node)


ACCOUNT = """query Account { account { id name } }"""
APP_DISCONNECT = """mutation Disconnect { appDisconnect { app { name } userErrors { message path } } }"""


class JobberClient:
    def __init__(
        self,
        api_url: str,
        access_token: str,
        *,
        api_version: str,
        timeout: float = 10.0,
        session: requests.Session | None = None,
    ):
        self.api_url = api_url
        self.timeout = timeout
        self.session = session or new_session()
        self._headers = {
            "Authorization": f"Bearer {access_token}",
            "Content-Type": "application/json",
            "X-JOBBER-GRAPHQL-VERSION": api_version,
        }
        self.last_throttle: ThrottleStatus | None = None
        self.requests_made = 0

    def execute(self, source: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run one document; return `data` or raise a `clients.errors` type."""
        payload = {"query": document(source), "variables": variables or {}}
        self.requests_made += 1
        response = send(
            self.session, VENDOR, "POST", self.api_url, self.timeout, json=payload, headers=self._headers
        )
        body = json_or_empty(response)
        self._note_cost(body)
        _raise_for_transport(response, body)
        errors = body.get("errors") or []
        if errors:
            _raise_for_graphql(errors, body)
        data: dict[str, Any] = body.get("data") or {}
        return data

    def mutate(self, source: str, variables: dict[str, Any], field: str) -> dict[str, Any]:
        """Run a mutation and return its payload object; non-empty `userErrors` → Permanent."""
        result: dict[str, Any] = self.execute(source, variables).get(field) or {}
        user_errors = result.get("userErrors") or []
        if user_errors:
            text = "; ".join(f"{'.'.join(e.get('path') or [])}: {e.get('message')}" for e in user_errors)
            raise Permanent(f"jobber {field}: {text}", vendor=VENDOR)
        return result

    # ---- operations --------------------------------------------------------------------------

    def account(self) -> Account:
        data = self.execute(ACCOUNT)["account"]
        return Account(id=str(data["id"]), name=str(data.get("name") or ""))

    def app_disconnect(self) -> None:
        self.mutate(APP_DISCONNECT, {}, "appDisconnect")

    # ---- cost pacing ---------------------------------------------------------------------

    def _note_cost(self, body: Any) -> None:
        cost = ((body or {}).get("extensions") or {}).get("cost") if isinstance(body, dict) else None
        status = (cost or {}).get("throttleStatus")
        if status:
            self.last_throttle = ThrottleStatus(
                maximum=float(status.get("maximumAvailable", 10000)),
                available=float(status.get("currentlyAvailable", 0)),
                restore_rate=float(status.get("restoreRate", 500)) or 500.0,
            )


def _raise_for_transport(response: requests.Response, body: Any) -> None:
    status = response.status_code
    message = ""
    if isinstance(body, dict):
        err = body.get("error")
        message = str(body.get("message") or (err.get("message") if isinstance(err, dict) else err) or "")
    lowered = message.lower()
    if "disconnected this app" in lowered or "not active" in lowered:
        raise Disconnected(f"jobber: {message}", vendor=VENDOR, status=status)
    if "temporarily unavailable" in lowered:
        raise Transient(f"jobber: {message}", vendor=VENDOR, status=status)
    if status == 429:
        retry_after = response.headers.get("Retry-After", "")
        wait = float(retry_after) if retry_after.isdigit() else DEFAULT_429_WAIT_S
        raise RateLimited("jobber: HTTP 429 (request limit)", retry_after=wait, vendor=VENDOR, status=status)
    if status == 401:
        raise Unauthorized(f"jobber: HTTP 401 {message or response.reason}", vendor=VENDOR, status=status)
    if status >= 500:
        raise Transient(f"jobber: HTTP {status}", vendor=VENDOR, status=status)
    if status >= 400:
        raise Permanent(f"jobber: HTTP {status} {message}", vendor=VENDOR, status=status)
    if not isinstance(body, dict) or ("data" not in body and "errors" not in body):
        raise Transient(f"jobber: HTTP {status} without a GraphQL result", vendor=VENDOR, status=status)


def _raise_for_graphql(errors: list[dict[str, Any]], body: dict[str, Any]) -> None:
    codes = {((e.get("extensions") or {}).get("code")) for e in errors}
    if "THROTTLED" in codes:
        raise RateLimited("jobber: THROTTLED", retry_after=throttle_wait(body), vendor=VENDOR)
    text = "; ".join(str(e.get("message")) for e in errors)
    raise Permanent(f"jobber: {text}", vendor=VENDOR)


def throttle_wait(body: dict[str, Any]) -> float:
    """Seconds until the cost bucket holds the requested cost: (requested - available) / restoreRate."""
    cost = (body.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    requested = float(cost.get("requestedQueryCost") or 0)
    available = float(status.get("currentlyAvailable") or 0)
    rate = float(status.get("restoreRate") or 500) or 500.0
    return max(1.0, math.ceil(max(0.0, requested - available) / rate))
