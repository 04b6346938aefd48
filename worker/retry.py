"""The retry policy as a task base class: transient errors back off, rate limits wait, the rest dead-letters.

Tasks stay thin and raise `clients.errors` types; this base turns them into a delayed retry or a dead letter.
Event-driven tasks take the event id as their first argument (the convention that lets a dead letter be
replayed with `ajctl events replay EVENT_ID`).

A retry never waits inside the worker: the message is re-made (same task id, one more retry) and parked in
Redis until due (store/queues.py), and the current delivery is acknowledged. So a worker holds only what it
is running, and the visibility timeout stays short (config/celery.py). A Redis connection or timeout error
is transient too; when Redis cannot even take the delayed retry, the delivery is rejected back to its queue
(or, with Redis gone, simply left unacknowledged: kombu restores it once Redis is back).
"""

from __future__ import annotations

import logging
import random
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from celery import Task
from celery.exceptions import Ignore, Reject, Retry
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from clients.errors import Disconnected, Permanent, RateLimited, Transient
from config import tracing
from config.logging import bind_ids
from config.queues import queue_for
from config.settings import get_settings
from store import keys
from store.dead_letters import DeadLetter, DeadLetters
from store.ledger import Ledger
from store.locks import LockBusy
from store.messages import task_message
from store.queues import fair_queues
from store.redis import sync_client

log = logging.getLogger(__name__)

BACKOFF_BASE_S = 2.0
# No single rate-limit wait is longer than this, whatever a vendor asked (clients bound header waits too).
MAX_RATE_LIMIT_WAIT_S = 15 * 60

# Told (integration id, vendor) each time work is parked for a vendor's rate limit: worker/metrics.py counts
# them (aj_rate_limit_waits_total). A hook, since metrics imports this module.
RATE_LIMIT_OBSERVERS: list[Callable[[str, str], None]] = []


# What a task returns when its work was dead-lettered: worker/metrics.py counts it as outcome "dead_lettered".
DEAD_LETTERED = "dead_lettered"


class Deferred(Ignore):  # type: ignore[misc]
    """This delivery is done; the work runs again later, from the delay set (metrics count it as a retry)."""


def backoff_delay(attempt: int, cap_s: float, base_s: float = BACKOFF_BASE_S) -> float:
    """Exponential backoff with jitter: attempt 1 → ~base, doubling, capped; jitter in [50%, 100%]."""
    # The exponent is bounded: 2.0 ** 1024 overflows, and RETRY_MAX_ATTEMPTS has no upper limit.
    delay: float = min(cap_s, base_s * 2.0 ** min(max(0, attempt - 1), 64))
    return delay * random.uniform(0.5, 1.0)


class IntegrationTask(Task):  # type: ignore[misc]
    """Base for every task that talks to a vendor. See the module docstring for the policy."""

    abstract = True
    max_retries = None  # bounded by RETRY_MAX_ATTEMPTS below, not by Celery's counter

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # Every line logged while the task runs carries the task and what it works on (config/logging.py):
        # tasks take an event id or an integration id first.
        subject = str(args[0]) if args else ""
        ids = {("event_id" if subject.startswith("ev_") else "integration_id"): subject} if subject else {}
        with bind_ids(task=self.name, task_id=getattr(self.request, "id", None), **ids):
            try:
                return self._policy(args, kwargs)
            except RedisError as exc:
                # Redis failed while we handled a failure (delaying a retry, writing a dead letter): put the
                # delivery back. With Redis unreachable the reject fails too and the message stays
                # unacknowledged, to be restored by kombu once Redis is back. Nothing is lost either way.
                log.warning("tasks.requeued task=%s error=%s", self.name, type(exc).__name__)
                raise Reject(f"redis unavailable: {type(exc).__name__}", requeue=True) from exc

    def _policy(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except (Retry, Ignore, Reject):
            raise  # Celery's own control flow, not failures
        except RateLimited as exc:
            return self._wait_for_rate_limit(exc, args, kwargs)
        except LockBusy as exc:
            # Another worker is on the same call or number right now: wait for it, without spending an attempt
            # (no vendor: not counted as a rate-limit wait).
            return self._wait_for_rate_limit(RateLimited(f"busy: {exc}", retry_after=1.0), args, kwargs)
        except Transient as exc:
            return self._retry_transient(exc, args, kwargs)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            # Redis restarting or failing over is an outage, not a bug in the event.
            return self._retry_transient(Transient(f"redis: {type(exc).__name__}: {exc}"), args, kwargs)
        except Disconnected as exc:
            # Not a failure of the event: the tenant must reconnect. Lifecycle flows mark the integration.
            self._ledger_skip(args, f"vendor connection lost: {exc}")
            log.warning("tasks.disconnected task=%s error=%s", self.name, exc)
            return None
        except Permanent as exc:
            return self._dead_letter(args, kwargs, f"permanent: {exc}")
        except Exception as exc:
            # A bug or an unforeseen vendor answer: retrying blindly could duplicate effects, so park it
            # where an operator sees it and can replay it after a fix.
            log.exception("tasks.crashed task=%s", self.name)
            return self._dead_letter(
                args, kwargs, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"
            )

    # ---- policies ----------------------------------------------------------------------------

    def _wait_for_rate_limit(self, exc: RateLimited, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        settings = get_settings()
        wait = min(max(exc.retry_after, 0.0), MAX_RATE_LIMIT_WAIT_S)
        key = keys.rate_limited(self.request.id)
        pipe = sync_client().pipeline()
        pipe.hincrby(key, "waits", 1)
        pipe.hincrbyfloat(key, "seconds", wait)
        pipe.expire(key, 86400)
        waited = float(pipe.execute()[1])
        if waited > settings.RATE_LIMIT_BUDGET_S:
            return self._dead_letter(
                args,
                kwargs,
                f"waited {waited:.0f}s for rate limits (budget {settings.RATE_LIMIT_BUDGET_S:.0f}s): {exc}",
            )
        self._ledger_attempt(args, "rate_limited", str(exc))
        countdown = wait + random.uniform(0.0, 1.0)  # spread the herd after a shared reset
        log.info("tasks.rate_limited task=%s wait_s=%.1f", self.name, countdown)
        if exc.vendor:
            tenant = self._tenant_of(args)  # the message's header says, almost always: no read
            for observer in RATE_LIMIT_OBSERVERS:
                observer(tenant or "none", exc.vendor)
        return self._later(countdown, args, kwargs)

    def _retry_transient(self, exc: Transient, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        settings = get_settings()
        attempts = self.transient_attempts()
        self._ledger_attempt(args, "transient", str(exc))
        if attempts >= settings.RETRY_MAX_ATTEMPTS:
            return self._dead_letter(args, kwargs, f"gave up after {attempts} attempts: {exc}")
        countdown = backoff_delay(attempts, settings.RETRY_BACKOFF_MAX_S)
        log.info(
            "tasks.retry task=%s attempt=%d countdown_s=%.1f error=%s", self.name, attempts, countdown, exc
        )
        return self._later(countdown, args, kwargs)

    def _later(self, countdown: float, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run this task again in `countdown` seconds, from Redis, and let this delivery go (acknowledged)."""
        request = self.request
        queue = (request.delivery_info or {}).get("routing_key") or queue_for(self.name)
        tenant = self._tenant_of(args)
        due = time.time() + countdown  # also its sent time: the queue-age metric counts from when it is due
        message = task_message(
            self.name,
            list(args),
            queue,
            request.id,
            kwargs=kwargs,
            tenant=tenant,
            retries=int(request.retries or 0) + 1,
            root_id=request.root_id,
            sent_at=due,
        )
        fair_queues().defer(queue, tenant, message, due)  # with this attempt's trace (store/messages.py)
        tracing.note({"aj.outcome": "retry", "aj.retry_in_s": round(countdown, 3)})
        raise Deferred()

    def transient_attempts(self) -> int:
        """Attempts so far that failed transiently, this one included (rate-limit waits excluded)."""
        waited = int(sync_client().hget(keys.rate_limited(self.request.id), "waits") or 0)
        return int(self.request.retries) + 1 - waited

    def _tenant_of(self, args: tuple[Any, ...]) -> str:
        """The tenant (lane) this delivery works for: its message says, else its arguments tell."""
        return str(self.request.get("aj_tenant") or "") or self._tenant(args)

    def _tenant(self, args: tuple[Any, ...]) -> str:
        """The integration a task works for:
        its event's, or its first argument when that is an integration id."""
        event_id = self._event_id(args)
        if event_id:
            return (Ledger(sync_client()).get(event_id) or {}).get("integration", "")
        first = args[0] if args else None
        return first if isinstance(first, str) and first.startswith("int_") else ""

    # ---- bookkeeping ---------------------------------------------------------------------------

    def _event_id(self, args: tuple[Any, ...]) -> str | None:
        first = args[0] if args else None
        return first if isinstance(first, str) and first.startswith("ev_") else None

    def _ledger_attempt(self, args: tuple[Any, ...], kind: str, error: str) -> None:
        event_id = self._event_id(args)
        if event_id:
            Ledger(sync_client()).record_attempt(event_id, task=self.name, kind=kind, error=error)

    def _ledger_skip(self, args: tuple[Any, ...], reason: str) -> None:
        event_id = self._event_id(args)
        if event_id:
            Ledger(sync_client()).record_skip(event_id, reason)

    def _dead_letter(self, args: tuple[Any, ...], kwargs: dict[str, Any], error: str) -> str:
        r = sync_client()
        event_id = self._event_id(args)
        entry = Ledger(r).get(event_id) if event_id else None
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        DeadLetters(r).add(
            DeadLetter(
                id=event_id or self.request.id,
                integration=(entry or {}).get("integration"),
                event=(entry or {}).get("event"),
                resource_id=(entry or {}).get("resource_id"),
                task=self.name,
                args=list(args),
                kwargs=kwargs,
                error=error[:2000],
                attempts=int(self.request.retries) + 1,
                first_failed_at=stamp,
                last_failed_at=stamp,
                traceparent=tracing.traceparent(),  # a replay continues this trace
            )
        )
        tracing.failed("dead_lettered")
        if event_id:
            Ledger(r).record_attempt(event_id, task=self.name, kind="dead_letter", error=error[:500])
            Ledger(r).set_outcome(event_id, "failed", error.splitlines()[0][:200])
        log.error(
            "tasks.dead_lettered task=%s id=%s error=%s", self.name, event_id or self.request.id, error[:200]
        )
        return DEAD_LETTERED
