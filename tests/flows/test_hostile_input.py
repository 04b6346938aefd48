"""Hostile input on both webhook routes, over real HTTP into a real Redis (issue 10): a clear 4xx, nothing
stored or enqueued, no token or body reaching Redis before the token is known, metric labels bounded.

No worker runs in this module, so the queues themselves show what was enqueued.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os

import pytest
import redis
import requests

from store import keys
from tests.support.metrics import scrape
from tests.support.payloads import call_event
from tests.support.poll import until
from tests.support.queues import queued_count
from tests.support.tenants import make_tenant

pytestmark = pytest.mark.flow

SECRET = "sandbox-client-secret"  # JOBBER_CLIENT_SECRET of the suite (tests/conftest.py)


def post_aircall(url: str, body: bytes | dict) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.post(
        f"{url}/webhooks/aircall", data=data, headers={"Content-Type": "application/json"}, timeout=10
    )


def post_jobber(url: str, body: bytes, signature: bytes | str | None = None) -> requests.Response:
    if signature is None:
        signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest())
    headers = {"Content-Type": "application/json", "X-Jobber-Hmac-SHA256": signature}
    return requests.post(f"{url}/webhooks/jobber", data=body, headers=headers, timeout=10)


def nothing_stored(r) -> bool:
    return not list(r.scan_iter(keys.event("*"))) and queued_count(r) == 0


def nested_body(token: str, depth: int) -> bytes:
    """A call.ended whose data holds a value nested `depth` levels deep (built as text: too deep for json)."""
    body = json.dumps(call_event(token)).encode()
    return body[:-2] + b', "extra": ' + b'{"k": [' * (depth // 2) + b"0" + b"]}" * (depth // 2) + b"}}"


def client_commands(r, action) -> list[list[str]]:
    """The commands the ingest's connections sent (not scripts', not the workers' background threads) while
    `action` ran, seen through MONITOR. A marker command closes the window, so no wait depends on time."""
    from store.redis import INGEST_CLIENT_NAME

    marker = "hostile-input-window-closed"
    watcher = redis.Redis.from_url(os.environ["REDIS_URL"], decode_responses=True, socket_timeout=10)
    seen: list[list[str]] = []
    with watcher.monitor() as monitor:
        action()
        ingest = {c["addr"] for c in r.client_list() if c.get("name") == INGEST_CLIENT_NAME}
        r.echo(marker)
        while True:
            command = monitor.next_command()
            words = command["command"].split()
            if words[:2] == ["ECHO", marker]:
                return seen
            address = f"{command.get('client_address')}:{command.get('client_port')}"
            if command["client_type"] != "lua" and address in ingest:
                seen.append(words)


def metric_lines(url: str, name: str) -> list[str]:
    text = scrape(url)
    return [line for line in text.splitlines() if line.startswith(name)]


# ---- Aircall ------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [260, 400, 1000])
def test_aircall_data_nested_hundreds_deep_is_400_not_500(r, ingest_url, depth):
    tenant = make_tenant()

    response = post_aircall(ingest_url, nested_body(tenant.webhook_token, depth))

    assert response.status_code == 400
    assert "nested" in response.json()["error"]
    assert nothing_stored(r)


def test_aircall_json_deeper_than_the_parser_allows_is_400(r, ingest_url):
    tenant = make_tenant()
    body = json.dumps(call_event(tenant.webhook_token)).encode()
    body = body[:-2] + b', "x": ' + b"[" * 5000 + b"]" * 5000 + b"}}"

    response = post_aircall(ingest_url, body)

    assert response.status_code == 400
    assert nothing_stored(r)


def test_an_unknown_token_is_refused_before_its_body_reaches_redis(r, ingest_url):
    make_tenant()
    big = call_event("not-a-known-token", notes="n" * 200_000)  # under MAX_WEBHOOK_BYTES (256 KiB)
    before = int(r.info("stats")["total_net_input_bytes"])

    response = post_aircall(ingest_url, big)

    assert response.status_code == 401
    sent_to_redis = int(r.info("stats")["total_net_input_bytes"]) - before
    assert sent_to_redis < 10_000, f"{sent_to_redis} bytes reached Redis for an unknown token"
    assert nothing_stored(r)


def test_a_known_token_costs_one_round_trip_the_claim(r, ingest_url):
    tenant = make_tenant()
    assert post_aircall(ingest_url, call_event(tenant.webhook_token)).json()["status"] == "enqueued"

    def three_more():
        for _ in range(3):
            assert post_aircall(ingest_url, call_event(tenant.webhook_token)).json()["status"] == "enqueued"

    commands = client_commands(r, three_more)

    assert [c[0] for c in commands] == ["EVALSHA"] * 3


def test_a_token_unbound_after_it_was_cached_is_refused_by_the_claim(r, ingest_url):
    tenant = make_tenant()
    assert post_aircall(ingest_url, call_event(tenant.webhook_token)).status_code == 200
    r.delete(keys.WEBHOOK_TOKENS)  # the integration is gone; this process still remembers the token

    response = post_aircall(ingest_url, call_event(tenant.webhook_token))

    assert response.status_code == 401
    assert queued_count(r) == 1  # only the first one


def test_a_token_written_with_json_escapes_is_still_redacted(r, ingest_url):
    tenant = make_tenant()
    escaped = "".join(f"\\u{ord(c):04x}" for c in tenant.webhook_token)
    body = json.dumps(call_event("TOKEN")).replace('"TOKEN"', f'"{escaped}"').encode()

    response = post_aircall(ingest_url, body)

    assert response.json()["status"] == "enqueued"
    raw = r.hget(keys.event(response.json()["id"]), "raw")
    assert json.loads(raw)["token"] == "[redacted]"
    assert tenant.webhook_token not in json.dumps(json.loads(raw))


def test_event_labels_are_bounded_to_the_events_the_product_knows(r, ingest_url):
    tenant = make_tenant()
    for event in ("ai_voice_agent.summary", "ai_voice_agent.made-up-1", "ai_voice_agent.made-up-2"):
        body = {"event": event, "token": tenant.webhook_token, "data": {"id": 5, "call_id": 5}}
        assert post_aircall(ingest_url, body).status_code == 200

    lines = metric_lines(ingest_url, "aj_webhooks_received_total")

    assert any('event="ai_voice_agent.summary"' in line for line in lines)
    assert not any("made-up" in line for line in lines)
    assert any('source="aircall"' in line and 'event="other"' in line for line in lines)


# ---- Jobber -------------------------------------------------------------------------------------


def jobber_body(account: str = "acct-x", **event) -> bytes:
    fields = {"topic": "CLIENT_UPDATE", "accountId": account, "itemId": "c1", "occurredAt": "2026-01-01"}
    return json.dumps({"data": {"webHookEvent": {**fields, **event}}}).encode()


@pytest.mark.parametrize(
    "signature",
    ["é" * 44, b"\xff\xfe" * 22, "Zm9v\u00a0", b"\x80", "=" * 4000],
    ids=["latin-1", "raw-bytes", "nbsp", "lone-byte", "long"],
)
def test_any_hmac_header_content_is_401_not_500(r, ingest_url, signature):
    response = post_jobber(ingest_url, jobber_body(), signature)

    assert response.status_code == 401
    assert nothing_stored(r)


@pytest.mark.parametrize(
    "body",
    [
        b'{"data": [1]}',
        b'{"data": "x"}',
        b'{"data": 7}',
        b'{"data": {"webHookEvent": []}}',
        b"[]",
        b'"text"',
        jobber_body(itemId={"nested": [1]}),
        jobber_body(itemId=json.loads("[" * 900 + "]" * 900)),
        jobber_body(occurredAt=json.loads("[" * 900 + "]" * 900)),
    ],
    ids=[
        "data-list",
        "data-str",
        "data-int",
        "event-list",
        "top-list",
        "top-str",
        "item-object",
        "item-deep",
        "occurred-deep",
    ],
)
def test_signed_bodies_of_odd_shapes_are_400_not_500(r, ingest_url, body):
    make_tenant()

    response = post_jobber(ingest_url, body)

    assert response.status_code == 400
    assert response.json()["error"]
    assert nothing_stored(r)


def test_jobber_topic_labels_are_bounded(r, ingest_url):
    tenant = make_tenant()
    account = r.hget(keys.integration(tenant.id), "jobber_account_id")
    for topic in ("CLIENT_UPDATE", "INVOICE_CREATE", "MADE_UP_TOPIC_42"):
        assert post_jobber(ingest_url, jobber_body(account, topic=topic)).status_code == 200

    lines = metric_lines(ingest_url, "aj_webhooks_received_total")

    assert any('event="CLIENT_UPDATE"' in line for line in lines)
    assert not any("MADE_UP" in line or "INVOICE" in line for line in lines)


# ---- framing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["aircall", "jobber"])
def test_a_body_cut_short_by_a_hang_up_is_never_acted_on(r, ingest_url, route):
    """The sender announces more bytes than it sends, then hangs up: the body never completed, so it must
    not be stored, even when the bytes that did arrive form a valid webhook."""
    import socket
    from urllib.parse import urlsplit

    tenant = make_tenant()
    account = r.hget(keys.integration(tenant.id), "jobber_account_id")
    body = (
        json.dumps(call_event(tenant.webhook_token)).encode() if route == "aircall" else jobber_body(account)
    )
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest())
    host = urlsplit(ingest_url)
    head = (
        (
            f"POST /webhooks/{route} HTTP/1.1\r\nHost: {host.netloc}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body) + 10}\r\n"
        ).encode()
        + b"X-Jobber-Hmac-SHA256: "
        + signature
        + b"\r\n\r\n"
    )
    writes_before = int(r.info("persistence")["rdb_changes_since_last_save"])
    abandoned_before = abandoned(ingest_url)

    with socket.create_connection((host.hostname, host.port), timeout=10) as sock:
        sock.sendall(head + body)
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(65536):  # until the server closes its side
            pass
    # The receiver finishes with the request after the connection is gone: wait for it to say so.
    until(lambda: abandoned(ingest_url) > abandoned_before, what="the cut-short request to be abandoned")

    assert int(r.info("persistence")["rdb_changes_since_last_save"]) == writes_before
    assert nothing_stored(r)


def abandoned(url: str) -> float:
    lines = metric_lines(url, 'aj_webhooks_rejected_total{reason="incomplete_body"}')
    return float(lines[0].split()[-1]) if lines else 0.0


def test_a_sender_chosen_event_name_is_logged_short_and_on_one_line(r, ingest_url, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="ingest.aircall")
    tenant = make_tenant()
    name = "user.made_up\nFORGED ingest line " + "x" * 100_000

    body = {"event": name, "token": tenant.webhook_token, "data": {"id": 1}}
    assert post_aircall(ingest_url, body).json()["status"] == "ignored"

    [line] = [m for m in caplog.messages if m.startswith("ingest.aircall.ignored")]
    assert "\n" not in line and len(line) < 400
