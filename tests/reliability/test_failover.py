"""SPEC §7, issue 10: Redis made highly available with Sentinel. The master is SIGKILLed under load; the
sentinels promote a replica; the ingest and the worker (subprocesses, REDIS_URL in the sentinel:// form)
follow it; every webhook the ingest answered 200 is on the promoted master, and ends logged exactly once.

The ingest acknowledges only what a replica holds (REDIS_WAIT_REPLICAS=1). Two replicas, as the README
recommends with WAIT 1: after the failover the promoted master still has a replica to confirm, so the
ingest resumes at once (with a single replica it would refuse, rightly, until the old master rejoins).
The load generator behaves like Aircall: a refused (503) or unanswered webhook is sent again.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import requests

from config.settings import Settings
from sandbox.fleet import Fleet
from sandbox.redis_server import SentinelGroup
from store import keys
from store.ledger import Ledger
from store.redis import connect_sync
from tests.reliability.test_worker_and_redis_loss import call_ended, setup_world
from tests.support.accounting import account_calls, scale
from tests.support.poll import until
from tests.support.queues import queued_count

pytestmark = [pytest.mark.reliability, pytest.mark.slow]
FIRST_CALL = 8_400_000_000
POSTERS = 4


@dataclass
class Load:
    """Posts call.ended webhooks for distinct calls, `rate` per second per poster thread, each until it is
    acknowledged."""

    ingest: str
    token: str
    rate: int
    accepted: dict[str, str] = field(default_factory=dict)  # call id -> event id, in acknowledgement order
    acked_at: list[float] = field(default_factory=list)
    refused: int = 0  # 503 answers (no replica confirmed, or Redis unreachable)
    unanswered: int = 0  # connection errors and timeouts
    stop: threading.Event = field(default_factory=threading.Event)
    call_ids: Iterator[int] = field(default_factory=lambda: itertools.count(FIRST_CALL))

    def post_until_accepted(self, call_id: int) -> None:
        body = call_ended(self.token, call_id)
        while not self.stop.is_set():
            try:
                answer = requests.post(f"{self.ingest}/webhooks/aircall", json=body, timeout=10)
            except requests.RequestException:
                self.unanswered += 1
                continue
            if answer.status_code == 200:
                self.accepted[str(call_id)] = answer.json()["id"]
                self.acked_at.append(time.monotonic())
                return
            assert answer.status_code == 503, answer.text
            self.refused += 1
            self.stop.wait(0.05)  # the vendor's retry comes a little later

    def run(self) -> None:
        while not self.stop.is_set():
            self.post_until_accepted(next(self.call_ids))
            self.stop.wait(1 / self.rate)  # pacing: a steady stream, not a burst the worker drains at once

    def acked_since(self, moment: float) -> int:
        return sum(1 for t in list(self.acked_at) if t > moment)


@pytest.fixture
def fleet(vendors):
    f = Fleet(redis=SentinelGroup(replicas=2, down_after_ms=3000))
    f.env |= {
        "JOBBER_API_URL": f"{vendors.jobber}/api/graphql",
        "JOBBER_OAUTH_URL": f"{vendors.jobber}/api/oauth",
        "RETRY_BACKOFF_MAX_S": "1",
        "BROKER_VISIBILITY_TIMEOUT_S": "6",
        "HTTP_TIMEOUT_S": "3",
        "REDIS_WAIT_REPLICAS": "1",
        "REDIS_WAIT_TIMEOUT_MS": "500",
    }
    try:
        yield f
    finally:
        f.stop()


def test_the_master_killed_under_load_loses_no_acknowledged_webhook(fleet, vendors):
    group: SentinelGroup = fleet.redis
    # The test reads through the sentinels too, so after the failover it reads the new master.
    r = connect_sync(Settings(REDIS_URL=group.url, REDIS_SENTINEL_MASTER=group.master_name))
    _, token, _ = setup_world(fleet, vendors.jobber, r)
    ingest = fleet.ingest()
    fleet.worker(concurrency=4)
    # Jobber answers a little slowly, so the worker is inside calls (with Redis writes to follow) at the kill.
    requests.post(f"{vendors.jobber}/_sandbox/faults", json={"reset": True, "latency_s": 0.1}, timeout=5)
    load = Load(ingest, token, rate=scale(3, 10))
    posters = [threading.Thread(target=load.run, daemon=True) for _ in range(POSTERS)]
    for poster in posters:
        poster.start()
    try:
        # Mid-load: calls acknowledged and already logged, more in flight in the worker and the ingest.
        until(lambda: len(load.accepted) >= 10 and _done(r, load) >= 3, timeout=60, what="the worker logging")
        old_master = group.master()
        acked_before = len(load.accepted)
        old_master.kill()
        killed_at = time.monotonic()

        until(lambda: group.master_port() not in (None, old_master.port), timeout=30, what="a promotion")
        promoted_s = time.monotonic() - killed_at
        until(
            lambda: load.acked_since(killed_at) >= scale(10, 300),
            timeout=scale(60, 120),
            what="the ingest acknowledging again",
        )
    finally:
        load.stop.set()
        for poster in posters:
            poster.join(timeout=30)
        requests.post(f"{vendors.jobber}/_sandbox/faults", json={"reset": True}, timeout=5)

    # The ingest's promise: every acknowledged webhook is on the promoted master.
    assert [e for e in load.accepted.values() if not r.exists(keys.event(e))] == []
    until(Settled(r, load), timeout=scale(60, 300), what="the worker to finish what it can")
    # kombu's Redis transport pops a message (BRPOP) and records its unacknowledged copy in a second round
    # trip: one delivered in that instant dies with the master. Its event is still in the ledger, pending, and
    # in the pending index; beat's recovery sweep (flows/recovery.py, every 5 min, for events pending over
    # 10 min) finds that no queue holds its message and sends it again. Run here as if 10 minutes had passed.
    lost_in_delivery = [e for e in load.accepted.values() if Ledger(r).get(e)["outcome"] == "pending"]
    assert len(lost_in_delivery) <= 4  # at most the worker's prefetch: what it held at the kill
    swept = recover(fleet)
    assert swept.get("recovered", 0) == len(lost_in_delivery), swept
    if lost_in_delivery:
        until(lambda: _done(r, load) == len(load.accepted), timeout=60, what="the recovered calls logged")

    resumed = min(t for t in load.acked_at if t > killed_at)
    result = account_calls(
        "Redis master SIGKILLed under load (Sentinel)",
        r,
        vendors.jobber,
        load.accepted,
        promoted_s=round(promoted_s, 1),
        ingest_resumed_s=round(resumed - killed_at, 1),
        acked_before_kill=acked_before,
        refused_503=load.refused,
        unanswered=load.unanswered,
        lost_in_delivery_recovered=len(lost_in_delivery),
    )
    _close(r)
    assert result.ok and result.logged_once == len(load.accepted)


def recover(fleet: Fleet) -> dict[str, int]:
    """Beat's recovery sweep, against the fleet's Redis (through the sentinels), 10 minutes later."""
    code = (
        "import json, time; from flows.recovery import STALE_S, recover_lost_deliveries; "
        "print(json.dumps(recover_lost_deliveries(now=time.time() + STALE_S + 1)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=fleet.env, check=True, capture_output=True, text=True, timeout=60
    )
    counts: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return counts


class Settled:
    """True once every call is done, or once nothing has been waiting (queues, tenant lanes, delayed retries),
    held unacknowledged or running for a second (between kombu's pop and its unacknowledged copy a message is,
    briefly, in neither place)."""

    def __init__(self, r, load: Load) -> None:
        self.r, self.load, self.idle_since = r, load, None

    def __call__(self) -> bool:
        if _done(self.r, self.load) == len(self.load.accepted):
            return True
        if queued_count(self.r) or self.r.zcard(keys.DUE) or self.r.hlen("unacked"):
            self.idle_since = None
            return False
        self.idle_since = self.idle_since or time.monotonic()
        return time.monotonic() - self.idle_since >= 1.0


def test_a_worker_command_caught_by_the_failover_completes_on_the_promoted_replica():
    """A store command issued right after the master died waits for the promotion instead of failing: each
    reconnect asks the sentinels again (redis-py alone retries the dead master's address, #3874), for up to
    REDIS_FAILOVER_WAIT_S (one round of retries, ~2.5 s, is shorter than a failover)."""
    group = SentinelGroup(replicas=1, down_after_ms=3000)
    r = connect_sync(Settings(REDIS_URL=group.url, REDIS_SENTINEL_MASTER=group.master_name))
    try:
        r.set("aj:test:failover", "kept")
        old_master = group.master()
        old_master.kill()

        assert r.get("aj:test:failover") == "kept"
        assert group.master_port() not in (None, old_master.port)
    finally:
        _close(r)
        group.stop()


def _close(r) -> None:
    r.close()
    r.connection_pool.sentinel_manager.close()


def _done(r, load: Load) -> int:
    ledger = Ledger(r)
    return sum(
        1
        for event_id in list(load.accepted.values())
        if (ledger.get(event_id) or {}).get("outcome") == "done"
    )
