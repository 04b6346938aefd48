"""What the ingest's /metrics tells on-call (issue 17) without a worker: every answer of the webhook receivers
by status (uvicorn's own overload 503s too), each tenant's lane backlog, and a scrape whose Redis work does
not grow with what Redis holds. No worker runs in this module, so lanes keep their messages."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pytest
import redis
import requests
import uvicorn

from config.queues import FAIR_QUEUES
from config.settings import get_settings
from flows.status import fleet_status
from ingest import metrics
from store import keys
from store.messages import task_message
from store.queues import FairQueues
from store.workers import WorkerBeats
from tests.support.metrics import METRICS_TOKEN, scrape, values
from tests.support.payloads import call_event
from tests.support.poll import until
from tests.support.tenants import make_tenant

pytestmark = pytest.mark.flow

JOBBER_SECRET = "sandbox-client-secret"  # tests/conftest.py's JOBBER_CLIENT_SECRET


def answers(text: str) -> Counter[tuple[str, str]]:
    """aj_webhook_responses_total per (source, code) on a /metrics page."""
    found: Counter[tuple[str, str]] = Counter()
    for labels, n in values(text, "aj_webhook_responses_total").items():
        found[(dict(labels)["source"], dict(labels)["code"])] = int(n)
    return found


def jobber_webhook(account: str) -> tuple[bytes, dict[str, str]]:
    event = {
        "topic": "CLIENT_UPDATE",
        "appId": "app",
        "accountId": account,
        "itemId": "Z2lkOi8vSm9iYmVyL0NsaWVudC8x",
    }
    body = json.dumps({"data": {"webHookEvent": {**event, "occurredAt": "2026-01-01T00:00:00Z"}}}).encode()
    digest = base64.b64encode(hmac.new(JOBBER_SECRET.encode(), body, hashlib.sha256).digest()).decode()
    return body, {"Content-Type": "application/json", "X-Jobber-Hmac-SHA256": digest}


def test_every_answer_of_the_webhook_receivers_is_counted_by_source_and_status(r, ingest_with, monkeypatch):
    url = ingest_with(WEBHOOK_RATE_LIMIT=2, MAX_WEBHOOK_BYTES=8192)
    tenant = make_tenant()
    before = answers(scrape(url))

    def aircall(body) -> int:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        return requests.post(f"{url}/webhooks/aircall", data=data, headers=headers, timeout=5).status_code

    def crash(*_):
        raise RuntimeError("a bug in the receiver")

    statuses = [aircall(call_event(tenant.webhook_token))]  # 200, stored
    r.config_set("maxmemory", 1)  # Redis refuses every write: 503, nothing stored
    try:
        statuses.append(aircall(call_event(tenant.webhook_token)))
    finally:
        r.config_set("maxmemory", 0)
    statuses += [
        aircall(call_event(tenant.webhook_token)),  # 200: the second of the window
        aircall(call_event(tenant.webhook_token)),  # 429: over WEBHOOK_RATE_LIMIT=2
        aircall(b"{not json"),  # 400
        aircall(call_event("an-unknown-token")),  # 401
        aircall(b"x" * 9000),  # 413
    ]
    # A receiver that crashes: uvicorn answers 500 (and logs it); counted all the same.
    with monkeypatch.context() as m:
        m.setattr("ingest.aircall.redacted_raw", crash)
        statuses.append(aircall(call_event(tenant.webhook_token)))
    body, headers = jobber_webhook("an-account-nobody-holds")
    statuses.append(
        requests.post(f"{url}/webhooks/jobber", data=body, headers=headers, timeout=5).status_code
    )
    headers["X-Jobber-Hmac-SHA256"] = "forged"
    statuses.append(
        requests.post(f"{url}/webhooks/jobber", data=body, headers=headers, timeout=5).status_code
    )
    assert statuses == [200, 503, 200, 429, 400, 401, 413, 500, 200, 401]

    counted = answers(scrape(url)) - before
    assert counted == Counter(
        {
            ("aircall", "200"): 2,
            ("aircall", "503"): 1,
            ("aircall", "429"): 1,
            ("aircall", "400"): 1,
            ("aircall", "401"): 1,
            ("aircall", "413"): 1,
            ("aircall", "500"): 1,
            ("jobber", "200"): 1,
            ("jobber", "401"): 1,
        }
    )


@pytest.fixture
def crowded_ingest():
    """An ingest under uvicorn with --limit-concurrency 2 (as the Procfile passes INGEST_MAX_CONCURRENCY), in
    this process so the test's counters are the ingest's."""
    from ingest.app import create_app

    config = uvicorn.Config(create_app(), host="127.0.0.1", port=0, log_level="warning", limit_concurrency=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    until(lambda: server.started, what="uvicorn to start")
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_the_ingest_at_its_concurrency_limit_counts_its_503s(r, crowded_ingest):
    tenant = make_tenant()
    before = answers(scrape(crowded_ingest))
    # One connection held open: with it and the next one, the process is at its limit of 2.
    held = http.client.HTTPConnection(urlsplit(crowded_ingest).netloc, timeout=5)
    held.request("GET", "/healthz")
    assert held.getresponse().read()  # the connection stays open (keep-alive)
    webhook = call_event(tenant.webhook_token)
    refused = requests.post(f"{crowded_ingest}/webhooks/aircall", json=webhook, timeout=5)
    assert refused.status_code == 503  # uvicorn's own answer: the app never saw it
    held.close()

    def scraped() -> str:
        headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        response = requests.get(f"{crowded_ingest}/metrics", headers=headers, timeout=5)
        return response.text if response.status_code == 200 else ""  # 503 while the server still counts it

    counted = answers(until(scraped, what="the held connection to go")) - before
    assert counted == Counter({("aircall", "503"): 1})
    assert r.keys("aj:ev:*") == []


def test_each_tenants_lane_backlog_is_exported(r, ingest_url):
    queues = FairQueues(r, 1, FAIR_QUEUES)  # one message ready per queue: the rest wait in lanes

    def enqueue(queue: str, tenant: str, n: int) -> None:
        for i in range(n):
            queues.enqueue(queue, tenant, task_message("events.route", [f"ev_{tenant}_{queue}_{i}"], queue))

    enqueue("jobber", "int_a", 3)  # one onto the queue, two in the lane
    enqueue("jobber", "int_b", 2)
    enqueue("default", "int_a", 2)

    backlog = values(scrape(ingest_url), "aj_tenant_backlog")
    assert backlog == {
        (("integration", "int_a"), ("queue", "jobber")): 2.0,
        (("integration", "int_b"), ("queue", "jobber")): 2.0,
        (("integration", "int_a"), ("queue", "default")): 1.0,
    }
    jobber = next(q for q in fleet_status(r, get_settings())["queues"] if q["queue"] == "jobber")
    assert jobber["in_lanes"] == 4 and jobber["ready"] == 1


class CountingConnection(redis.Connection):
    """A Redis connection that notes the name of every command it sends."""

    sent: ClassVar[list[str]] = []

    def pack_command(self, *args: Any) -> Any:
        self.sent.append(str(args[0]).lower())
        return super().pack_command(*args)

    def pack_commands(self, commands: Any) -> Any:
        self.sent.extend(str(c[0]).lower() for c in commands)
        return super().pack_commands(commands)


def commands_of(work: Callable[[redis.Redis], object]) -> Counter[str]:
    """The Redis commands `work` sends through its own client (other threads' traffic does not count)."""
    pool = redis.ConnectionPool.from_url(
        get_settings().REDIS_URL, connection_class=CountingConnection, decode_responses=True
    )
    client = redis.Redis(connection_pool=pool)
    client.ping()  # connected: the handshake is not the work's
    CountingConnection.sent.clear()
    work(client)
    sent = Counter(CountingConnection.sent)
    pool.disconnect()
    return sent


def test_a_scrape_and_ajctl_status_read_the_same_however_much_redis_holds(r):
    """/metrics is scraped every 15 s by every Prometheus and `ajctl status` runs in an incident: their Redis
    work depends on the integrations and the tenants with waiting work, never on the events, retries, dead
    letters or other keys Redis holds (no SCAN)."""
    for _ in range(3):
        make_tenant()
    FairQueues(r, 1, FAIR_QUEUES).enqueue("jobber", "int_a", task_message("events.route", ["ev_1"], "jobber"))
    WorkerBeats(r).beat("worker.host-1", 1, 0, time.time())

    def work(client: redis.Redis) -> None:
        assert b"aj_workers_alive 1.0" in metrics.render(client)
        assert len(fleet_status(client, get_settings())["workers"]) == 1

    small = commands_of(work)
    pipe = r.pipeline(transaction=False)
    now = time.time()
    for i in range(3000):
        pipe.hset(keys.event(f"ev_settled_{i}"), mapping={"outcome": "done", "integration": "int_a"})
    for i in range(500):
        pipe.zadd(keys.DUE, {json.dumps({"q": "jobber", "t": "int_a", "m": "{}", "e": f"ev_{i}"}): now + 60})
        pipe.zadd(keys.DEAD_LETTERS, {f"ev_dead_{i}": now})
        pipe.zadd(keys.PENDING, {f"ev_pending_{i}": now})
    pipe.execute()
    assert r.dbsize() > 3000

    assert commands_of(work) == small
    assert "scan" not in small and "keys" not in small
