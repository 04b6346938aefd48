"""A worker that is terminated (a cold shutdown, as the suite's embedded workers are) leaves nothing
behind: its upkeep thread ends, its counts are flushed and its heartbeat goes, so `aj_workers_alive` and
`ajctl status` stop counting it at once. Its own module: a second embedded worker would share Celery's
shutdown flag with another."""

from __future__ import annotations

import pytest
from celery.contrib.testing.worker import start_worker

from config.queues import ALL_QUEUES
from store.workers import WorkerBeats
from tests.support.poll import until
from worker.app import app
from worker.upkeep import Upkeep

pytestmark = pytest.mark.flow


def test_a_terminated_worker_stops_its_upkeep_and_its_heartbeat(r):
    embedded = start_worker(
        app,
        pool="threads",
        concurrency=1,
        perform_ping_check=False,
        queues=list(ALL_QUEUES),
        shutdown_timeout=20,
    )
    with embedded as w:
        upkeep = next(step for step in w.steps if isinstance(step, Upkeep))
        until(lambda: WorkerBeats(r).alive() == 1, timeout=20, what="the worker's heartbeat")
        thread = upkeep._thread
        assert thread is not None and thread.is_alive()

    thread.join(timeout=10)
    assert not thread.is_alive()
    assert WorkerBeats(r).alive() == 0 and WorkerBeats(r).all() == []
