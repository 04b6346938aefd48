"""POST /webhooks/aircall over real HTTP into a real Redis: accepted once, refused clearly, never leaked.

No worker runs in this module, so the queue itself shows what was enqueued.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from store import keys
from store.ledger import Inbound, Ledger
from tests.support.metrics import scrape
from tests.support.payloads import call_event
from tests.support.queues import queued_messages
from tests.support.tenants import AIRCALL_TOKEN, JOBBER_ACCESS, JOBBER_REFRESH, make_tenant

pytestmark = pytest.mark.flow


def post(url: str, body, **kw) -> requests.Response:
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return requests.post(
        f"{url}/webhooks/aircall", data=data, headers={"Content-Type": "application/json"}, timeout=5, **kw
    )


def queued(r) -> list[dict]:
    return queued_messages(r)


def test_valid_webhook_is_stored_and_enqueued_once(r, ingest_url):
    tenant = make_tenant()
    body = call_event(tenant.webhook_token)

    response = post(ingest_url, body)

    assert response.status_code == 200
    assert response.json()["status"] == "enqueued"
    event_id = response.json()["id"]
    stored = r.hgetall(keys.event(event_id))
    assert stored["integration"] == tenant.id
    assert stored["event"] == "call.ended"
    assert stored["resource_id"] == str(body["data"]["id"])
    assert stored["outcome"] == "pending"
    assert r.zscore(keys.PENDING, event_id) is not None  # tracked until it settles (flows/recovery.py)
    assert json.loads(stored["raw"])["data"] == body["data"]
    shown = Ledger(r).show(event_id)
    assert shown["raw"]["token"] == "[redacted]" and shown["raw_dropped_at"] is None  # kept while pending
    [message] = queued(r)
    # Straight to its flow's task, on its queue: no router hop in front of every flow.
    assert message["headers"]["task"] == "calls.log_activity"
    assert message["properties"]["delivery_info"]["routing_key"] == "jobber"
    assert message["headers"]["argsrepr"] == repr([event_id])


def test_the_same_webhook_five_times_concurrently_is_enqueued_once(r, ingest_url):
    tenant = make_tenant()
    body = call_event(tenant.webhook_token)

    with ThreadPoolExecutor(5) as pool:
        responses = list(pool.map(lambda _: post(ingest_url, body), range(5)))

    assert [x.status_code for x in responses] == [200] * 5
    statuses = sorted(x.json()["status"] for x in responses)
    assert statuses == ["duplicate"] * 4 + ["enqueued"]
    assert len(queued(r)) == 1
    assert r.get(keys.STAT_DUPLICATES) == "4"


def test_distinct_events_for_one_call_are_each_enqueued(r, ingest_url):
    tenant = make_tenant()
    first = call_event(
        tenant.webhook_token, "call.commented", call_id=5, comments=[{"id": 1, "content": "a"}]
    )
    second = call_event(
        tenant.webhook_token,
        "call.commented",
        call_id=5,
        comments=[{"id": 1, "content": "a"}, {"id": 2, "content": "b"}],
    )
    assert post(ingest_url, first).json()["status"] == "enqueued"
    assert post(ingest_url, second).json()["status"] == "enqueued"
    assert len(queued(r)) == 2


@pytest.mark.parametrize(
    ("make_body", "status", "reason"),
    [
        (lambda t: b"{not json", 400, "bad_json"),
        (lambda t: b"\xff\xfe", 400, "bad_json"),
        (lambda t: [], 400, "bad_envelope"),
        (lambda t: {"event": "call.ended", "data": {"id": 1}}, 400, "bad_envelope"),
        (lambda t: {"event": "call.ended", "token": t}, 400, "bad_envelope"),
        (lambda t: {"token": t, "data": {"id": 1}}, 400, "bad_envelope"),
        (lambda t: {"event": "call.ended", "token": t, "data": {}}, 400, "bad_envelope"),
        (lambda t: call_event("not-a-known-token"), 401, "unknown_token"),
        (lambda t: json.dumps(call_event(t, notes="x" * (1024 * 1024))).encode(), 413, "too_large"),
    ],
    ids=[
        "bad-json",
        "not-utf8",
        "not-object",
        "no-token",
        "no-data",
        "no-event",
        "no-data-id",
        "wrong-token",
        "oversized",
    ],
)
def test_bad_input_gets_a_clear_4xx_and_enqueues_nothing(r, ingest_url, make_body, status, reason):
    tenant = make_tenant()

    response = post(ingest_url, make_body(tenant.webhook_token))

    assert response.status_code == status
    assert response.json()["error"]
    assert queued(r) == []
    assert not list(r.scan_iter(keys.event("*")))
    metrics = scrape(ingest_url)
    assert f'aj_webhooks_rejected_total{{reason="{reason}"}}' in metrics


def test_oversized_body_without_content_length_is_refused(r, ingest_url):
    tenant = make_tenant()
    big = json.dumps(call_event(tenant.webhook_token, notes="y" * (1024 * 1024))).encode()

    def chunks():
        for i in range(0, len(big), 65536):
            yield big[i : i + 65536]

    response = requests.post(f"{ingest_url}/webhooks/aircall", data=chunks(), timeout=10)
    assert response.status_code == 413
    assert queued(r) == []


def test_unknown_event_type_gets_200_and_is_ignored(r, ingest_url):
    tenant = make_tenant()
    response = post(
        ingest_url,
        {"resource": "user", "event": "user.opened.v2", "token": tenant.webhook_token, "data": {"id": 3}},
    )
    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert queued(r) == []
    assert not list(r.scan_iter(keys.event("*")))


def test_unknown_event_type_with_a_wrong_token_is_still_401(r, ingest_url):
    make_tenant()
    response = post(ingest_url, {"event": "user.opened.v2", "token": "nope", "data": {}})
    assert response.status_code == 401


def test_inactive_integration_gets_200_and_the_event_is_recorded_as_skipped(r, ingest_url):
    tenant = make_tenant(active=False)

    response = post(ingest_url, call_event(tenant.webhook_token))

    assert response.status_code == 200
    assert response.json()["status"] == "skipped"
    assert queued(r) == []
    from store.ledger import Ledger

    shown = Ledger(r).show(response.json()["id"])
    assert shown["outcome"] == "skipped"
    assert shown["skips"][0]["reason"] == "integration inactive"


def test_tokens_are_never_readable_in_redis(r, ingest_url):
    tenant = make_tenant()
    post(ingest_url, call_event(tenant.webhook_token))

    dump = []
    for key in r.scan_iter("*"):
        kind = r.type(key)
        if kind == "hash":
            dump += [key, *r.hgetall(key).keys(), *r.hgetall(key).values()]
        elif kind == "string":
            dump += [key, r.get(key)]
        elif kind == "list":
            dump += [key, *r.lrange(key, 0, -1)]
        elif kind in ("set", "zset"):
            dump += [key, *(r.smembers(key) if kind == "set" else r.zrange(key, 0, -1))]
    blob = "\n".join(dump)
    for secret in (tenant.webhook_token, AIRCALL_TOKEN, JOBBER_ACCESS, JOBBER_REFRESH):
        assert secret not in blob
    assert "[redacted]" in blob  # the stored raw event keeps its shape, minus the token


def test_health_and_readiness(ingest_url):
    assert requests.get(f"{ingest_url}/healthz", timeout=5).json() == {"status": "ok"}
    assert requests.get(f"{ingest_url}/readyz", timeout=5).json()["redis"] == "ok"


def test_metrics_expose_the_contract_names(r, ingest_url):
    make_tenant()
    text = scrape(ingest_url)
    for name in (
        "aj_webhooks_received_total",
        "aj_webhooks_rejected_total",
        "aj_events_duplicate_total",
        'aj_queue_depth{queue="default"}',
        "aj_dead_letters",
        'aj_integrations{status="active"} 1.0',
    ):
        assert name in text


def test_the_ingest_message_has_the_shape_celery_itself_publishes(r, ingest_url):
    """store/messages.py hand-builds what `send_task` would LPUSH; compare with the real thing."""
    from worker.app import app

    tenant = make_tenant()
    post(ingest_url, call_event(tenant.webhook_token))
    [ours] = queued(r)
    r.delete("jobber")
    app.send_task("calls.log_activity", args=["ev_x"], queue="jobber")
    [celerys] = queued(r)

    assert set(ours) == set(celerys)
    # `aj_tenant` is ours: the fair queues put a retry back in its tenant's lane (store/queues.py).
    assert set(ours["headers"]) <= set(celerys["headers"]) | {"stamped_headers", "stamps", "aj_tenant"}
    assert set(celerys["headers"]) - set(ours["headers"]) <= {
        "stamped_headers",
        "stamps",
        "replaced_task_nesting",
    }
    assert set(ours["properties"]) == set(celerys["properties"])
    assert ours["properties"]["delivery_info"] == celerys["properties"]["delivery_info"]
    assert ours["content-type"] == celerys["content-type"] == "application/json"


def test_no_token_reaches_the_logs(r, ingest_url, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    tenant = make_tenant()
    post(ingest_url, call_event(tenant.webhook_token))
    post(ingest_url, call_event(tenant.webhook_token))  # duplicate: logged
    post(
        ingest_url, {"event": "call.ended", "token": "a-wrong-SECRET-token", "data": {"id": 1}}
    )  # rejected: logged
    post(ingest_url, {"event": "user.opened.v2", "token": tenant.webhook_token, "data": {}})
    assert "ingest.aircall" in caplog.text
    for secret in (tenant.webhook_token, "a-wrong-SECRET-token", AIRCALL_TOKEN, JOBBER_ACCESS):
        assert secret not in caplog.text


@pytest.mark.slow
def test_concurrent_claims_go_together_and_each_gets_its_own_answer(r):
    """Claims made while a batch is on its way share the next round trip; each still gets its own status, and
    when Redis cannot be reached every claim of the batch fails (so each webhook is answered 503)."""
    import asyncio

    import redis.asyncio as aioredis
    from redis.exceptions import RedisError

    from store.crypto import token_hash
    from store.ledger import AsyncLedger
    from store.messages import task_message

    tenant = make_tenant()
    port = r.connection_pool.connection_kwargs["port"]

    def fields(n: int, tenant_key: str) -> dict:
        eid = f"ev_batch{n}"
        return {
            "tenant_key": tenant_key,
            "event_id": eid,
            "source": "aircall",
            "event": "call.ended",
            "resource_id": str(n),
            "received_at": "2026-12-04T08:00:00.000+00:00",
            "raw": "{}",
            "task_message": task_message("calls.log_activity", [eid], "jobber"),
            "queue": "jobber",
            "routed": True,
        }

    async def scenario() -> tuple[list[str], int]:
        client = aioredis.Redis(port=port, decode_responses=True)
        ledger = AsyncLedger(client, ttl_days=1)
        batches: list[int] = []
        send_batch = ledger._send_batch

        async def counted(batch):  # type: ignore[no-untyped-def]
            batches.append(len(batch))
            await send_batch(batch)

        ledger._send_batch = counted  # type: ignore[method-assign]
        known = token_hash(tenant.webhook_token)
        claims = [fields(n % 40, known) for n in range(60)] + [fields(99, "not-a-tenant")]
        answers = await asyncio.gather(*(ledger.claim(Inbound(**f)) for f in claims))
        await client.aclose()
        return [a.status for a in answers], len(batches)

    statuses, round_trips = asyncio.run(scenario())
    assert statuses[:40] == ["enqueued"] * 40
    assert statuses[40:60] == ["duplicate"] * 20
    assert statuses[60] == "unknown"
    assert round_trips < 10  # 61 claims: the first alone, the rest together
    assert len(queued(r)) == 40

    async def unreachable() -> list[BaseException | object]:
        down = aioredis.Redis(port=1, socket_connect_timeout=0.2)  # nothing listens on port 1
        ledger = AsyncLedger(down, ttl_days=1)
        answers = await asyncio.gather(
            *(ledger.claim(Inbound(**fields(n, "x"))) for n in range(5)), return_exceptions=True
        )
        await down.aclose()
        return answers

    assert all(isinstance(a, RedisError) for a in asyncio.run(unreachable()))
