"""The retry policy outside the worker (issue 10): delays wait in Redis, not in a worker; rate-limit waits
have a budget; a Redis outage inside a task is transient; replays of one dead letter cannot race."""

from __future__ import annotations

import json
import threading

import pytest
from click.testing import CliRunner
from redis.exceptions import ConnectionError as RedisConnectionError

from cli import main as ajctl
from clients.errors import RateLimited, Transient
from flows.replay import replay
from store import keys
from store.dead_letters import DeadLetters
from store.ledger import Ledger
from store.redis import sync_client
from tests.support.events import outcome, send
from tests.support.poll import until
from tests.support.tenants import make_tenant
from worker.app import app
from worker.retry import IntegrationTask

pytestmark = pytest.mark.flow


@app.task(name="tests.slow_backoff", base=IntegrationTask, bind=True)
def slow_backoff(self, event_id: str) -> None:
    r = sync_client()
    if r.incr(f"test:runs:{event_id}") == 1:
        raise Transient("jobber: HTTP 503")
    Ledger(r).set_outcome(event_id, "done")


@app.task(name="tests.throttled_forever", base=IntegrationTask, bind=True)
def throttled_forever(self, event_id: str) -> None:
    sync_client().incr(f"test:runs:{event_id}")
    raise RateLimited("jobber: THROTTLED", retry_after=0.2)


@app.task(name="tests.redis_blip", base=IntegrationTask, bind=True)
def redis_blip(self, event_id: str) -> None:
    r = sync_client()
    if r.incr(f"test:runs:{event_id}") == 1:
        raise RedisConnectionError("Connection reset by peer")
    Ledger(r).set_outcome(event_id, "done")


@app.task(name="tests.fails_again", base=IntegrationTask, bind=True)
def fails_again(self, event_id: str) -> None:
    from clients.errors import Permanent

    sync_client().incr(f"test:runs:{event_id}")
    raise Permanent("jobber: still broken")


def test_a_delayed_retry_waits_in_redis_not_in_a_worker(r, ingest_url, worker, handler, settings_env):
    settings_env.setenv("RETRY_BACKOFF_MAX_S", "600")
    handler("tests.slow_backoff", 0)
    event_id = send(ingest_url, make_tenant().webhook_token)

    until(lambda: r.zcard(keys.DUE) == 1, what="the retry parked in the due set")
    # The worker holds nothing while the retry waits: a worker killed now loses nothing and delays nothing.
    until(lambda: r.zcard("unacked_index") == 0 and r.hlen("unacked") == 0, what="the delivery acknowledged")
    [member] = r.zrange(keys.DUE, 0, -1)
    parked = json.loads(member)
    assert parked["q"] == "default" and parked["t"] == Ledger(r).get(event_id)["integration"]
    assert json.loads(parked["m"])["headers"]["retries"] == 1

    r.zadd(keys.DUE, {member: 0})  # what the clock does when the backoff is over
    until(lambda: outcome(event_id) == "done", what="the retry run once due")
    assert r.get(f"test:runs:{event_id}") == "2" and r.zcard(keys.DUE) == 0


@pytest.mark.slow
def test_waiting_for_rate_limits_has_a_budget(r, ingest_url, worker, handler, settings_env):
    settings_env.setenv("RATE_LIMIT_BUDGET_S", "1")
    handler("tests.throttled_forever", 0)
    event_id = send(ingest_url, make_tenant().webhook_token)

    until(lambda: outcome(event_id) == "failed", timeout=20, what="dead-lettered past the wait budget")
    [letter] = DeadLetters(r).list()
    assert letter.error.startswith("waited") and "for rate limits (budget 1s)" in letter.error
    assert int(r.get(f"test:runs:{event_id}")) >= 5  # it did wait (0.2 s each), without spending attempts


def test_a_redis_error_inside_a_task_is_transient_not_a_bug(r, ingest_url, worker, handler):
    handler("tests.redis_blip", 0)
    event_id = send(ingest_url, make_tenant().webhook_token)

    until(lambda: outcome(event_id) == "done", what="retried after the Redis blip")
    assert [a["kind"] for a in Ledger(r).show(event_id)["attempts"]] == ["transient"]
    assert DeadLetters(r).count() == 0


def test_two_replays_of_one_letter_run_it_once(r, ingest_url, worker, handler):
    handler("tests.slow_backoff", 0)
    event_id = send(ingest_url, make_tenant().webhook_token)
    until(lambda: r.zcard(keys.DUE) == 1, what="first attempt failed")
    r.delete(keys.DUE)
    DeadLetters(r).add(_letter(event_id, "tests.slow_backoff"))

    results: list[bool] = []
    barrier = threading.Barrier(2)

    def go() -> None:
        barrier.wait()
        results.append(replay(event_id))

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, True]
    until(lambda: outcome(event_id) == "done", what="the replay")
    assert r.get(f"test:runs:{event_id}") == "2"  # the first failure, then exactly one replay
    assert DeadLetters(r).count() == 0


def test_a_replay_that_comes_right_after_another_one_sent_the_letter_sends_nothing(
    r, ingest_url, worker, handler
):
    """The losing side of the race above, in order: the first replay claims, sends and releases the letter
    before the second one looks. The second finds no letter -- it must not take the event for one that never
    had a letter (a replay from the ledger) and send it again."""
    handler("tests.slow_backoff", 0)
    event_id = send(ingest_url, make_tenant().webhook_token)
    until(lambda: r.zcard(keys.DUE) == 1, what="first attempt failed")
    r.delete(keys.DUE)
    DeadLetters(r).add(_letter(event_id, "tests.slow_backoff"))

    assert replay(event_id) is True
    assert replay(event_id) is False

    until(lambda: outcome(event_id) == "done", what="the replay")
    assert r.get(f"test:runs:{event_id}") == "2"  # the first failure, then exactly one replay


def test_a_replay_that_fails_again_keeps_its_new_dead_letter(r, ingest_url, worker, handler):
    handler("tests.fails_again", 0)
    event_id = send(ingest_url, make_tenant().webhook_token)
    until(lambda: outcome(event_id) == "failed", what="first failure")
    first = DeadLetters(r).get(event_id)

    out = CliRunner().invoke(ajctl, ["events", "replay", event_id, "--json"])
    assert json.loads(out.stdout)["replayed"] == 1
    until(
        lambda: r.get(f"test:runs:{event_id}") == "2" and outcome(event_id) == "failed", what="second failure"
    )
    again = DeadLetters(r).get(event_id)
    assert again is not None and again.last_failed_at >= first.last_failed_at  # not deleted by its replay


def _letter(event_id: str, task: str):  # type: ignore[no-untyped-def]
    from store.dead_letters import DeadLetter

    entry = Ledger(sync_client()).get(event_id) or {}
    return DeadLetter(
        id=event_id,
        integration=entry.get("integration"),
        event="call.ended",
        resource_id="1",
        task=task,
        args=[event_id],
        kwargs={},
        error="x",
        attempts=1,
        first_failed_at="t",
        last_failed_at="t",
    )


@pytest.fixture(autouse=True)
def _no_leftover_delays(r):
    yield
    sync_client().delete(keys.DUE)
