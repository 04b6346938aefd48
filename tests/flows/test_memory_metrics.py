"""`GET /metrics` says how full Redis is and how old each queue's backlog is (issue 10): what to alert on
before `noeviction` refuses writes. No worker runs here: messages stay queued."""

from __future__ import annotations

import json
import re
import time

import pytest
import requests

from config.queues import QUEUE_DEFAULT
from store import keys
from store.messages import SENT_AT_HEADER, task_message
from tests.support.metrics import scrape
from worker.app import app

pytestmark = pytest.mark.flow


def metric(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name)}{re.escape(labels)} (\S+)$", text, re.MULTILINE)
    assert match, f"{name}{labels} not in /metrics"
    return float(match.group(1))


def test_every_publish_carries_its_sent_time(r):
    before = time.time()
    # The ingest's hand-built message, and Celery's own publish (routing, retries, replays, beat).
    built = json.loads(task_message("events.route", ["ev_1"], QUEUE_DEFAULT))
    app.signature("events.route", args=["ev_2"]).apply_async()
    queued = json.loads(r.lindex(QUEUE_DEFAULT, 0))
    assert "ev_2" in queued["headers"]["argsrepr"]
    for message in (built, queued):
        assert before <= message["headers"][SENT_AT_HEADER] <= time.time()


def test_metrics_show_redis_memory_queue_age_and_unacked(r, ingest_url):
    # A tenant's backlog waits in its lane in front of the queue (store/queues.py): the oldest there counts.
    old = task_message("events.route", ["ev_old"], QUEUE_DEFAULT, sent_at=time.time() - 3600)
    r.lpush(keys.lane(QUEUE_DEFAULT, "int_flood"), old)
    r.rpush(keys.ring(QUEUE_DEFAULT), "int_flood")
    r.lpush(QUEUE_DEFAULT, task_message("events.route", ["ev_new"], QUEUE_DEFAULT))
    r.hset("unacked", "tag-1", "[]")  # kombu's record of a message a worker holds
    r.zadd(keys.PENDING, {"ev_a": time.time() - 900, "ev_b": time.time()})  # received, not settled
    r.config_set("maxmemory", 512 * 2**20)
    try:
        text = scrape(ingest_url)
    finally:
        r.config_set("maxmemory", 0)

    assert metric(text, "aj_redis_used_memory_bytes") > 0
    assert metric(text, "aj_redis_maxmemory_bytes") == 512 * 2**20
    assert metric(text, "aj_queue_oldest_message_age_seconds", '{queue="default"}') >= 3600
    assert metric(text, "aj_queue_oldest_message_age_seconds", '{queue="jobber"}') == 0  # empty
    waiting = [json.loads(m)["headers"]["task"] for m in r.lrange(QUEUE_DEFAULT, 0, -1)]
    assert metric(text, "aj_queue_depth", '{queue="default"}') == 1, waiting  # a stray message: whose?
    assert metric(text, "aj_queue_unacked") == 1
    assert metric(text, "aj_events_pending") == 2
    assert 900 <= metric(text, "aj_events_pending_oldest_age_seconds") < 960


def test_a_full_redis_makes_the_ingest_answer_503_and_store_nothing_until_there_is_room(r, ingest_url):
    """What `noeviction` does when maxmemory is reached (README, "Redis memory"): the claim script is refused
    whole, so the webhook is neither half-stored nor lost: Aircall retries the 503."""
    from tests.support.payloads import call_event
    from tests.support.tenants import make_tenant

    tenant = make_tenant()
    body = call_event(tenant.webhook_token)
    r.config_set("maxmemory", 1)  # below what Redis already uses: every write is refused
    try:
        full = requests.post(f"{ingest_url}/webhooks/aircall", json=body, timeout=5)
        assert full.status_code == 503 and "retry later" in full.json()["error"]
        assert r.llen(QUEUE_DEFAULT) == 0 and r.keys("aj:ev:*") == []
    finally:
        r.config_set("maxmemory", 0)
    again = requests.post(f"{ingest_url}/webhooks/aircall", json=body, timeout=5)
    assert again.status_code == 200 and again.json()["status"] == "enqueued"


def test_the_queue_age_finds_the_oldest_message_wherever_the_dispatch_put_it(r, ingest_url):
    """The dispatch LPUSHes a tenant's waiting message onto the queue after messages already there: the oldest
    message of a queue list is not always at its tail."""
    r.lpush(QUEUE_DEFAULT, task_message("events.route", ["ev_new"], QUEUE_DEFAULT))
    r.lpush(
        QUEUE_DEFAULT, task_message("events.route", ["ev_old"], QUEUE_DEFAULT, sent_at=time.time() - 3600)
    )
    text = scrape(ingest_url)
    assert metric(text, "aj_queue_oldest_message_age_seconds", '{queue="default"}') >= 3600
