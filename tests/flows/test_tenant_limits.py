"""One tenant cannot hurt the others at the door (issue 16): bodies over the cap are refused, a token over its
webhook rate and a tenant over its pending bytes get 429 (Aircall retries), and nothing of theirs is stored,
while another tenant's webhooks are still accepted and stored.

Real HTTP into an ingest with its own limits, over the suite's Redis; no worker runs in this module, so the
ledger and the queues show what was accepted, and events are settled the way the workers settle them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
import requests

from config.settings import Settings
from flows.status import fleet_status
from store import keys
from store.ledger import AsyncLedger, Inbound, Ledger
from store.messages import task_message
from tests.support.metrics import scrape
from tests.support.payloads import call_event
from tests.support.queues import queued_messages
from tests.support.tenants import make_tenant

pytestmark = pytest.mark.flow


def post(url: str, body: dict[str, Any]) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    return requests.post(f"{url}/webhooks/aircall", data=json.dumps(body), headers=headers, timeout=10)


def stored(r) -> set[str]:
    return {k.removeprefix(keys.event("")) for k in r.scan_iter(keys.event("*")) if not k.endswith(":log")}


def metric(url: str, line: str) -> float:
    """A sample's value in /metrics (0 when absent). The ingest's own counters live in the process, which the
    suite shares: compare before and after."""
    for sample in scrape(url).splitlines():
        if sample.startswith(line + " "):
            return float(sample.rsplit(" ", 1)[1])
    return 0.0


def test_a_body_over_256_kib_is_refused_and_nothing_stored(r, ingest_url):
    """256 KiB is ~100 times Aircall's largest real call.ended (README): a bigger body is not Aircall's."""
    tenant = make_tenant()
    fits = call_event(tenant.webhook_token, call_id=1, notes="n" * 200_000)
    too_big = call_event(tenant.webhook_token, call_id=2, notes="n" * 300_000)

    refused = post(ingest_url, too_big)
    assert refused.status_code == 413 and "bytes" in refused.json()["error"]
    assert stored(r) == set() and queued_messages(r) == []

    assert post(ingest_url, fits).status_code == 200
    assert len(stored(r)) == 1


def test_a_token_over_its_rate_gets_429_and_another_tenant_is_still_served(r, ingest_with, caplog):
    caplog.set_level(logging.INFO)
    url = ingest_with(WEBHOOK_RATE_LIMIT=5, WEBHOOK_RATE_WINDOW_S=60)
    noisy, quiet = make_tenant(), make_tenant()
    rejected = 'aj_webhooks_rejected_total{reason="rate_limited"}'
    rejected_before = metric(url, rejected)

    # Given the noisy tenant has sent its 5 webhooks of the window
    accepted = [post(url, call_event(noisy.webhook_token, call_id=n)) for n in range(5)]
    assert [a.status_code for a in accepted] == [200] * 5

    # When it sends more in the same window
    later = [call_event(noisy.webhook_token, call_id=100 + n) for n in range(20)]
    over = [post(url, body) for body in later]

    # Then each is refused with 429 and a Retry-After, and nothing of them is stored
    assert {o.status_code for o in over} == {429}
    assert over[0].headers["retry-after"] == "60"
    assert len(stored(r)) == 5
    # while the other tenant's webhooks are accepted, stored and enqueued as ever
    served = [post(url, call_event(quiet.webhook_token, call_id=200 + n)) for n in range(5)]
    assert [s.json()["status"] for s in served] == ["enqueued"] * 5
    assert {Ledger(r).get(s.json()["id"])["integration"] for s in served} == {quiet.id}
    # and the operator sees who is throttled: a metric per integration, one log line (not one per refusal)
    assert metric(url, rejected) - rejected_before == 20
    assert metric(url, f'aj_webhooks_throttled_total{{integration="{noisy.id}",reason="rate_limited"}}') == 20
    assert caplog.text.count(f"ingest.aircall.throttled integration={noisy.id} reason=rate_limited") == 1
    [shown] = fleet_status(r, Settings())["throttled"]  # ajctl status
    assert shown["integration"] == noisy.id and shown["refused"] == 20 and shown["last_refused_age_s"] < 60

    # And once the window is over, the noisy tenant is served again (Aircall's retry then succeeds)
    assert 0 < r.ttl(keys.webhook_rate(noisy.id)) <= 60
    r.delete(keys.webhook_rate(noisy.id))  # what the end of the window does
    assert post(url, later[0]).json()["status"] == "enqueued"


def test_a_tenant_over_its_pending_bytes_gets_429_until_its_events_settle(r, ingest_with):
    body = call_event("t", call_id=0)
    one_event = len(json.dumps(body)) + len(task_message("calls.log_activity", ["ev_x" * 7], "jobber")) + 200
    url = ingest_with(TENANT_PENDING_MAX_BYTES=3 * one_event)
    noisy, quiet = make_tenant(), make_tenant()
    rejected = 'aj_webhooks_rejected_total{reason="backlog_full"}'
    rejected_before = metric(url, rejected)

    # Given the noisy tenant's pending events fill its share
    first = [post(url, call_event(noisy.webhook_token, call_id=n)) for n in range(3)]
    assert [f.json()["status"] for f in first] == ["enqueued"] * 3
    assert int(r.get(keys.pending_bytes(noisy.id))) <= 3 * one_event

    # When it sends one more, it is refused (Aircall retries it), and nothing is stored
    refused = post(url, call_event(noisy.webhook_token, call_id=3))
    assert refused.status_code == 429 and refused.headers["retry-after"] == "60"
    assert len(stored(r)) == 3
    # but a redelivery of an event it has is still acknowledged (it adds nothing), and others are served
    assert post(url, call_event(noisy.webhook_token, call_id=0)).json()["status"] == "duplicate"
    assert post(url, call_event(quiet.webhook_token, call_id=9)).json()["status"] == "enqueued"
    assert metric(url, rejected) - rejected_before == 1
    assert metric(url, f'aj_webhooks_throttled_total{{integration="{noisy.id}",reason="backlog_full"}}') == 1

    # Then, as its events settle (as the workers settle them), it is served again, and its count empties
    Ledger(r).set_outcome(first[0].json()["id"], "done")
    retried = post(url, call_event(noisy.webhook_token, call_id=3))
    assert retried.json()["status"] == "enqueued"
    for event_id in [f.json()["id"] for f in first[1:]] + [retried.json()["id"]]:
        Ledger(r).set_outcome(event_id, "skipped", "test")
    Ledger(r).set_outcome(first[1].json()["id"], "done")  # settling twice takes nothing off twice
    assert r.get(keys.pending_bytes(noisy.id)) is None
    assert r.get(keys.pending_bytes(quiet.id)) is not None


def test_jobber_webhooks_are_never_refused_for_a_tenant_over_its_limits(r, ingest_with):
    """Jobber's webhooks are per app: refusing them could get the app's webhooks disabled for every tenant."""
    import base64
    import hashlib
    import hmac

    url = ingest_with(TENANT_PENDING_MAX_BYTES=1, WEBHOOK_RATE_LIMIT=1)
    tenant = make_tenant()
    account = f"acct-{tenant.id}"
    for n in range(3):
        event = {"topic": "CLIENT_UPDATE", "appId": "app", "accountId": account, "itemId": f"client-{n}"}
        body = json.dumps(
            {"data": {"webHookEvent": {**event, "occurredAt": "2026-12-01T00:00:00Z"}}}
        ).encode()
        signature = base64.b64encode(
            hmac.new(b"sandbox-client-secret", body, hashlib.sha256).digest()
        ).decode()
        headers = {"X-Jobber-Hmac-SHA256": signature}
        answer = requests.post(f"{url}/webhooks/jobber", data=body, headers=headers, timeout=5)
        assert answer.status_code == 200 and answer.json()["status"] == "enqueued"
    assert int(r.get(keys.pending_bytes(tenant.id))) > 1  # counted, never refused


def test_a_claim_batch_never_carries_more_than_the_byte_cap(r):
    """Claims arriving together go in one call of the claim script, up to CLAIM_BATCH_MAX_BYTES: many large
    bodies at once never make one long call that holds Redis (and every other tenant) up."""
    import redis.asyncio as aioredis

    from store.crypto import token_hash

    tenant = make_tenant()
    port = r.connection_pool.connection_kwargs["port"]
    cap = 300_000

    def claim(n: int, raw: str) -> dict[str, Any]:
        event_id = f"ev_big{n}"
        return {
            "tenant_key": token_hash(tenant.webhook_token),
            "event_id": event_id,
            "source": "aircall",
            "event": "call.ended",
            "resource_id": str(n),
            "received_at": "2026-12-04T08:00:00.000+00:00",
            "raw": raw,
            "task_message": task_message("calls.log_activity", [event_id], "jobber"),
            "queue": "jobber",
            "routed": True,
        }

    async def scenario() -> tuple[list[str], list[int]]:
        client = aioredis.Redis(port=port, decode_responses=True)
        ledger = AsyncLedger(client, ttl_days=1, batch_max_bytes=cap)
        sent: list[int] = []
        send_batch = ledger._send_batch

        async def counted(batch):  # type: ignore[no-untyped-def]
            sent.append(sum(w.size for w in batch))
            await send_batch(batch)

        ledger._send_batch = counted  # type: ignore[method-assign]
        raw = "b" * 100_000
        answers = await asyncio.gather(
            *(ledger.claim(Inbound(**claim(n, raw * 4 if n == 7 else raw))) for n in range(30))
        )
        await client.aclose()
        return [a.status for a in answers], sent

    statuses, sent = asyncio.run(scenario())
    assert statuses == ["enqueued"] * 30
    assert len(sent) > 10  # 3 MB of claims: many calls
    oversized = [s for s in sent if s > cap]
    assert len(oversized) == 1 and oversized[0] > 400_000  # the one claim larger than the cap went alone
    assert all(s <= cap for s in sent if s not in oversized)
