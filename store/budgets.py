"""Vendor budgets shared by every worker through Redis: Jobber's query-cost bucket per account."""

from __future__ import annotations

import time

import redis

from clients.errors import RateLimited
from clients.jobber import Pacer, ThrottleStatus

MAX_INLINE_WAIT_S = 3.0


class JobberCostPacer(Pacer):
    """Paces on the last `throttleStatus` any worker saw for this Jobber account (jobber-api.md §3.2):
    the bucket refills at `restoreRate`/s; a call that would overdraw it waits (briefly inline, longer by
    raising RateLimited so the task is retried after the wait without holding a worker)."""

    def __init__(self, r: redis.Redis, account_id: str):
        self.r = r
        self.key = f"aj:jobber:bucket:{account_id}"

    def before(self, estimated_cost: float) -> None:
        state: dict[str, str] = self.r.hgetall(self.key)  # type: ignore[assignment]
        if not state:
            return
        rate = float(state["rate"]) or 500.0
        available = min(
            float(state["max"]), float(state["available"]) + (time.time() - float(state["at"])) * rate
        )
        if available >= estimated_cost:
            return
        wait = (estimated_cost - available) / rate
        if wait > MAX_INLINE_WAIT_S:
            raise RateLimited(
                f"jobber: cost bucket low ({available:.0f} points)", retry_after=wait, vendor="jobber"
            )
        time.sleep(wait)

    def after(self, status: ThrottleStatus) -> None:
        self.r.hset(self.key, mapping={"available": status.available, "max": status.maximum,
                                       "rate": status.restore_rate, "at": time.time()})  # fmt: skip
        self.r.expire(self.key, 3600)
