"""Vendor budgets shared by every worker through Redis: Jobber's query-cost bucket per account, and the
Aircall request budget per company."""

from __future__ import annotations

import time

import redis

from clients.aircall import Budget
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


# Token bucket per Aircall company (aircall-api.md §7: the limit is per company, shared by every key and
# app). High-priority callers (insight cards) may take any token; low-priority ones (contact sync) leave a
# reserve, so a sync backfill can never starve the cards. A 429 blocks everyone until Aircall's reset.
_AIRCALL_BUCKET = """
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'blocked_until')
local cap, rate, now, floor = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local tokens, ts, blocked = tonumber(b[1]) or cap, tonumber(b[2]) or now, tonumber(b[3]) or 0
if now < blocked then return tostring(blocked - now) end
tokens = math.min(cap, tokens + math.max(0, now - ts) * rate)
if tokens - 1 < floor then
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
  return tostring((floor + 1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], 3600)
return '0'
"""


class AircallBudget(Budget):
    """The per-company Aircall request budget (AIRCALL_RATE_LIMIT_PER_MIN), shared through Redis."""

    def __init__(
        self,
        r: redis.Redis,
        company_id: str,
        per_minute: int,
        *,
        high_priority: bool,
        max_inline_wait_s: float = 1.0,
    ):
        self.r = r
        self.key = f"aj:aircall:budget:{company_id}"
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.floor = 0.0 if high_priority else max(1.0, round(per_minute * 0.2))
        self.max_inline_wait_s = max_inline_wait_s
        self._script = r.register_script(_AIRCALL_BUCKET)

    def acquire(self) -> None:
        while True:
            wait = float(
                self._script(keys=[self.key], args=[self.capacity, self.rate, time.time(), self.floor])
            )
            if wait <= 0:
                return
            if wait > self.max_inline_wait_s:
                raise RateLimited(
                    f"aircall: company budget spent ({self.capacity:.0f}/min)",
                    retry_after=wait,
                    vendor="aircall",
                )
            time.sleep(wait)

    def exhausted_until(self, reset_at: float) -> None:
        self.r.hset(self.key, mapping={"blocked_until": reset_at, "tokens": 0, "ts": time.time()})
        self.r.expire(self.key, 3600)
