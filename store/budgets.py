"""Vendor budgets shared by every worker through Redis: Jobber's query-cost bucket per account, and the
Aircall request budget per company."""

from __future__ import annotations

import secrets
import time

from store import keys
from store.redis import RedisClient


class JobberCostPacer:
    """Paces on the last `throttleStatus` any worker saw for this Jobber account (jobber-api.md §3.2): the
    bucket refills at `restoreRate`/s; a call that would overdraw it is told how long to wait (the adapter,
    clients.jobber, waits a moment inline or parks the task). Implements clients.jobber.Pacer.

    Every Jobber answer carries the bucket's state, so this process's own last view (under LOCAL_FRESH_S old)
    is used before Redis is asked: a busy worker reads the shared state about once a second per account, not
    before every request."""

    LOCAL_FRESH_S = 1.0
    _local: dict[
        str, tuple[float, float, float, float, float]
    ] = {}  # key -> (available, max, rate, at, seen)

    def __init__(self, r: RedisClient, account_id: str):
        self.r = r
        self.key = keys.jobber_bucket(account_id)

    def _state(self) -> tuple[float, float, float, float] | None:
        local = self._local.get(self.key)
        now = time.time()
        if local is not None and now - local[4] < self.LOCAL_FRESH_S:
            return local[:4]
        state = self.r.hgetall(self.key)
        if not state:
            return None
        found = (
            float(state["available"]),
            float(state["max"]),
            float(state["rate"]) or 500.0,
            float(state["at"]),
        )
        self._local[self.key] = (*found, now)
        return found

    def wait_for(self, estimated_cost: float) -> float:
        state = self._state()
        if state is None:
            return 0.0
        available_then, maximum, rate, at = state
        available = min(maximum, available_then + (time.time() - at) * rate)
        return 0.0 if available >= estimated_cost else (estimated_cost - available) / rate

    def observed(self, available: float, maximum: float, restore_rate: float) -> None:
        now = time.time()
        self._local[self.key] = (available, maximum, restore_rate, now, now)
        pipe = self.r.pipeline(transaction=False)
        pipe.hset(self.key, mapping={"available": available, "max": maximum, "rate": restore_rate, "at": now})
        pipe.expire(self.key, 3600)
        pipe.execute()


# A sliding one-minute window per Aircall company (aircall-api.md §7: the limit is per company, shared by
# every key and app; Aircall's own window may be fixed or leaky, UNCONFIRMED). Counting the requests of the
# last 60 s never exceeds N in any minute, whichever window Aircall uses; a token bucket would allow N plus
# its refill. High-priority callers (insight cards) may use the whole window; low-priority ones (contact sync,
# AI fetches, reconciliation) leave a reserve, so a sync backfill never starves the cards. A 429 blocks
# everyone until Aircall's reset.
WINDOW_S = 60.0
_AIRCALL_WINDOW = """
local blocked = tonumber(redis.call('GET', KEYS[2]) or '0')
local limit, now, window, member = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
if now < blocked then return tostring(blocked - now) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tostring(math.max(0.01, tonumber(oldest[2]) + window - now))
end
redis.call('ZADD', KEYS[1], now, member)
redis.call('EXPIRE', KEYS[1], math.ceil(window) + 5)
return '0'
"""


class AircallBudget:
    """The per-company Aircall request budget (AIRCALL_RATE_LIMIT_PER_MIN), shared through Redis.
    Implements clients.aircall.Budget: `acquire` takes a request or says how long until one is free."""

    def __init__(
        self,
        r: RedisClient,
        company_id: str,
        per_minute: int,
        *,
        high_priority: bool,
        max_inline_wait_s: float = 1.0,
    ):
        self.r = r
        self.key = keys.aircall_budget(company_id)
        self.blocked_key = keys.aircall_blocked(company_id)
        self.per_minute = per_minute
        # Low priority may use 80 % of the window; the rest is kept for insight cards.
        self.limit = per_minute if high_priority else max(1, per_minute - max(1, round(per_minute * 0.2)))
        self.max_inline_wait_s = max_inline_wait_s
        self._script = r.register_script(_AIRCALL_WINDOW)

    def acquire(self) -> float:
        member = f"{time.time():.6f}-{secrets.token_hex(4)}"
        return float(
            self._script(keys=[self.key, self.blocked_key], args=[self.limit, time.time(), WINDOW_S, member])
        )

    def exhausted_until(self, reset_at: float) -> None:
        self.r.set(self.blocked_key, reset_at, ex=max(1, int(reset_at - time.time()) + 5))

    def used(self) -> int:
        """Requests in the last minute (for operators and tests)."""
        self.r.zremrangebyscore(self.key, "-inf", time.time() - WINDOW_S)
        return int(self.r.zcard(self.key))
