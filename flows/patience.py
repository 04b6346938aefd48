"""In-process retries for work run outside the task queue (the CLI's sync and backfill): wait out rate limits
as long as the vendor says, retry transient failures a few times with backoff, and stop at a time budget.
Tasks never use this: the retry policy (worker/retry.py) parks them in Redis instead of sleeping."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type

from clients.errors import RateLimited, Transient

T = TypeVar("T")
TRANSIENT_CAP_S = 10.0


def _wait(state: RetryCallState) -> float:
    """As long as the vendor's rate limit says; otherwise exponential (0.5 s doubling, capped)."""
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, RateLimited):
        return float(exc.retry_after)
    return min(TRANSIENT_CAP_S, 0.5 * 2.0**state.attempt_number)


def patiently(
    fn: Callable[[], T],
    *,
    budget_s: float,
    transient_attempts: int = 5,
    retry_on: tuple[type[Exception], ...] = (RateLimited, Transient),
) -> T:
    """`fn()`, retried on `retry_on`; rate-limit waits spend no attempt, only time. Re-raises the last error
    once `transient_attempts` transient failures happened or the next wait would end past `budget_s`."""
    transient = [0]

    def stop(state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        if not isinstance(exc, RateLimited):
            transient[0] += 1
        return (
            transient[0] >= transient_attempts or (state.seconds_since_start or 0.0) + _wait(state) > budget_s
        )

    retrying = Retrying(retry=retry_if_exception_type(retry_on), wait=_wait, stop=stop, reraise=True)
    return retrying(fn)
