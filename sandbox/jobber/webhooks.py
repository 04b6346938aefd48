"""Webhook sender (reference §4): `{"data": {"webHookEvent": {topic, appId, accountId, itemId, occurredAt}}}`,
signed with `X-Jobber-Hmac-SHA256` = base64(HMAC-SHA256(client secret, raw body)).

Automatic sending (CLIENT_CREATE / CLIENT_UPDATE / CLIENT_DESTROY, REQUEST_CREATE, APP_DISCONNECT) happens
only when a target URL is configured (off by default), from a background thread: like Jobber, delivery is
asynchronous to the API call that caused it. No retries (Jobber's retry schedule is UNCONFIRMED).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import Any

import requests

from .state import Store


def sign(body: bytes, client_secret: str) -> str:
    return base64.b64encode(hmac.new(client_secret.encode(), body, hashlib.sha256).digest()).decode()


def build_body(
    topic: str, app_id: str, account_id: str, item_id: str, occurred_at: datetime | None = None
) -> bytes:
    when = (occurred_at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
    event = {"topic": topic, "appId": app_id, "accountId": account_id, "itemId": item_id, "occurredAt": when}
    return json.dumps({"data": {"webHookEvent": event}}).encode()


def send_webhook(
    url: str,
    client_secret: str,
    topic: str,
    account_id: str,
    item_id: str,
    *,
    app_id: str = "00000000-0000-4000-8000-000000000000",
    occurred_at: datetime | None = None,
    timeout: float = 5.0,
) -> requests.Response:
    """POST one signed webhook now and return the response (raises on connection errors)."""
    body = build_body(topic, app_id, account_id, item_id, occurred_at)
    headers = {"Content-Type": "application/json", "X-Jobber-Hmac-SHA256": sign(body, client_secret)}
    return requests.post(url, data=body, headers=headers, timeout=timeout)


class WebhookDispatcher:
    """Sends the events a GraphQL operation produced to the configured URL, in the background."""

    def __init__(self, store: Store, client_secret: str, app_id: str):
        self.store = store
        self.client_secret = client_secret
        self.app_id = app_id
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="jobber-webhooks")
        self._lock = threading.Lock()
        self._in_flight: set[Future[None]] = set()

    def dispatch(self, account_id: str, events: list[tuple[str, str]]) -> None:
        config = self.store.webhooks
        if not config.url:
            return
        for topic, item_id in events:
            if config.topics is not None and topic not in config.topics:
                continue
            future = self._pool.submit(self._deliver, config.url, topic, account_id, item_id)
            with self._lock:
                self._in_flight.add(future)
            future.add_done_callback(self._done)

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._in_flight.discard(future)

    def drain(self, timeout_s: float = 10.0) -> None:
        """Wait for the deliveries already sent off (a reset must not let the last world's webhooks arrive in
        the next one)."""
        with self._lock:
            pending = list(self._in_flight)
        wait(pending, timeout=timeout_s)

    def _deliver(self, url: str, topic: str, account_id: str, item_id: str) -> None:
        record: dict[str, Any] = {
            "topic": topic,
            "accountId": account_id,
            "itemId": item_id,
            "url": url,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        try:
            record["status"] = send_webhook(
                url, self.client_secret, topic, account_id, item_id, app_id=self.app_id
            ).status_code
        except requests.RequestException as exc:
            record["error"] = type(exc).__name__
        with self._lock:
            deliveries = self.store.webhooks.deliveries
            deliveries.append(record)
            del deliveries[:-200]  # keep the newest 200 for /_sandbox/webhooks

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
