"""Each worker's upkeep thread: release due delays, refill the fair queues, heartbeat the messages it holds.

- Delays (retries, rate-limit waits) live in Redis, not in the worker (store/queues.py): every worker releases
  due ones, atomically, so they come back whichever workers are alive.
- Dispatch refills the shared queues from the tenant lanes after every finished task, and on a short timer.
- Each worker says it is alive (store/workers.py) with the same heartbeat, for `ajctl status` and /metrics; at
  start it says which beat jobs the fleet expects (worker/metrics.py `register_schedule`).
- Heartbeats keep the visibility timeout short (config/celery.py): kombu hands a message to another worker
  once its delivery time in `unacked_index` is older than the timeout; a live worker moves that time forward
  for every message it holds, so only a dead worker's messages come back (after ~timeout + restore
  interval), whatever RETRY_BACKOFF_MAX_S is. A task held for more than MAX_HOLD_S stops being heartbeated
  (a hung thread must not hold its event forever; handlers are idempotent, so a second run is safe).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from celery import bootsteps
from celery.signals import task_postrun, task_received
from redis.exceptions import RedisError

from config.queues import FAIR_QUEUES, visibility_timeout
from config.settings import get_settings
from store import keys
from store.queues import fair_queues
from store.redis import sync_client
from store.workers import WorkerBeats
from worker import metrics

log = logging.getLogger(__name__)

TICK_S = 0.25
METRICS_EVERY_S = 1.0
MAX_HOLD_S = 15 * 60

_held: dict[str, tuple[str, float]] = {}  # task id -> (delivery tag, received at)
_held_lock = threading.Lock()


@task_received.connect
def _received(request: Any = None, **_: Any) -> None:
    tag = getattr(getattr(request, "message", None), "delivery_tag", None)
    if request is not None and tag:
        with _held_lock:
            _held[request.id] = (str(tag), time.monotonic())


@task_postrun.connect
def _finished(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    with _held_lock:
        _held.pop(task_id or "", None)
    queue = ((getattr(task, "request", None) and task.request.delivery_info) or {}).get("routing_key")
    if queue in FAIR_QUEUES:
        try:
            fair_queues().refill(queue)  # refill what this task drained
        except RedisError as exc:
            log.warning("upkeep.dispatch_failed queue=%s error=%s", queue, type(exc).__name__)


def heartbeat(now_wall: float | None = None) -> int:
    """Move the delivery time of every message this worker holds to now; returns how many."""
    now = time.monotonic()
    with _held_lock:
        for task_id, (_, since) in list(_held.items()):
            if now - since > MAX_HOLD_S:
                log.error("upkeep.held_too_long task=%s: no more heartbeats, it will be redelivered", task_id)
                _held.pop(task_id, None)
        tags = [tag for tag, _ in _held.values()]
    if not tags:
        return 0
    stamp = time.time() if now_wall is None else now_wall
    # XX: only messages still unacknowledged; an acked one must not come back.
    sync_client().zadd(keys.KOMBU_UNACKED_INDEX, dict.fromkeys(tags, stamp), xx=True)
    return len(tags)


def heartbeat_every() -> float:
    """Well inside the visibility timeout, so a held message is never considered lost."""
    return min(5.0, visibility_timeout(get_settings()) / 3)


def tick() -> None:
    queues = fair_queues()
    queues.release_due()
    for queue in FAIR_QUEUES:
        queues.dispatch(queue)


class Upkeep(bootsteps.StartStopStep):  # type: ignore[misc]
    """Runs `tick` every TICK_S and `heartbeat` every `heartbeat_every()` in a daemon thread of the worker."""

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._name = str(getattr(worker, "hostname", "") or f"worker-{os.getpid()}")
        self._started_at = time.time()

    def start(self, worker: Any) -> None:
        metrics.FLUSHING.set()
        try:
            metrics.register_schedule()
        except RedisError as exc:  # not worth failing a start over: the jobs' runs register them too
            log.warning("upkeep.schedule_not_registered error=%s", type(exc).__name__)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="aj-upkeep", daemon=True)
        self._thread.start()

    def stop(self, worker: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            metrics.flush()
            WorkerBeats(sync_client()).gone(self._name)
        except RedisError:
            log.warning("upkeep.metrics_lost_at_shutdown")
        metrics.FLUSHING.clear()

    def terminate(self, worker: Any) -> None:
        # A cold shutdown (and the test suite's embedded workers) terminates steps instead of stopping them;
        # StartStopStep's default does nothing without `obj`, which left this thread beating, releasing and
        # flushing after its worker was gone.
        self.stop(worker)

    def _run(self) -> None:
        last_beat, beat_every, last_flush = 0.0, heartbeat_every(), 0.0
        while not self._stop.wait(TICK_S):
            try:
                tick()
                now = time.monotonic()
                if now - last_beat >= beat_every:
                    held = heartbeat()
                    WorkerBeats(sync_client()).beat(self._name, os.getpid(), held, self._started_at)
                    last_beat = now
                if now - last_flush >= METRICS_EVERY_S:
                    metrics.flush()
                    last_flush = now
            except RedisError as exc:  # Redis restarting or failing over: try again next tick
                log.warning("upkeep.redis_unavailable error=%s", type(exc).__name__)
            except Exception:
                log.exception("upkeep.failed")
