"""Fair queues and delayed messages, in Redis, in front of Celery's own queue lists.

Fairness: work for the shared queues (cards, default, jobber, aircall, sync) waits in one lane per tenant
(`aj:lane:<queue>:<tenant>`, oldest at the right). A ring (`aj:ring:<queue>`) lists the tenants whose lane is
not empty. Dispatch takes one message from each tenant in turn and pushes it onto the Celery queue list, only
while that list is shorter than its depth target. So a tenant that floods thousands of events fills its own
lane, and any other tenant's next event is at most one round of the ring away from a worker.

Dispatch runs inside every enqueue (an idle fleet adds no latency), after every finished task (workers refill
what they drain), and every few hundred milliseconds from each worker's upkeep thread (a safety net).

Delays: a retry's countdown or a rate-limit wait is not held inside a worker (Celery keeps ETA messages
unacknowledged, which forces a long visibility timeout). The message goes into one sorted set (`aj:due`,
score = due time) and the upkeep threads move due messages back into their tenant's lane, atomically, so
two workers never release the same message twice. A delayed event's entry in the pending index
(`aj:pending`, store/ledger.py) follows its message: the due time when it is deferred, the release time
when it is back in its lane; so the recovery sweep (flows/recovery.py) never takes a waiting retry for a
lost one, without reading the delayed messages.

Scripts derive their keys from prefixes (single Redis or Sentinel; not written for Redis Cluster).
"""

from __future__ import annotations

import json
import time
import uuid
from functools import lru_cache
from typing import Any

from config.queues import FAIR_QUEUES, Task, queue_depths, queue_for
from config.settings import get_settings
from store import keys
from store.messages import event_of, task_message
from store.redis import RedisClient, sync_client

# fair_push(queue, tenant, message, depth): into the tenant's lane, the tenant onto the ring if its lane was
# empty, then a dispatch. dispatch(queue, depth, budget): round-robin moves while the queue is short.
FAIR_LUA_FUNCTIONS = """
local function dispatch(queue, depth, budget)
  local ring = 'RING_PREFIX' .. queue
  local moved = 0
  local room = depth - redis.call('LLEN', queue)
  if room > budget then room = budget end
  while moved < room do
    local tenant = redis.call('LMOVE', ring, ring, 'LEFT', 'RIGHT')
    if not tenant then break end
    local lane = 'LANE_PREFIX' .. queue .. ':' .. tenant
    local message = redis.call('RPOP', lane)
    if message then
      redis.call('LPUSH', queue, message)
      moved = moved + 1
    end
    if redis.call('LLEN', lane) == 0 then
      redis.call('LREM', ring, -1, tenant)
    end
  end
  return moved
end

local function fair_push(queue, tenant, message, depth)
  local lane = 'LANE_PREFIX' .. queue .. ':' .. tenant
  if redis.call('LPUSH', lane, message) == 1 then
    redis.call('RPUSH', 'RING_PREFIX' .. queue, tenant)
  end
  return dispatch(queue, depth, depth)
end
""".replace("RING_PREFIX", keys.RING_PREFIX).replace("LANE_PREFIX", keys.LANE_PREFIX)

# ARGV: queue, tenant, message, depth
ENQUEUE_LUA = FAIR_LUA_FUNCTIONS + "\nreturn fair_push(ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]))"
# ARGV: queue, depth, budget. Returns {moved, tenants still waiting}.
DISPATCH_LUA = (
    FAIR_LUA_FUNCTIONS
    + "\nlocal moved = dispatch(ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]))"
    + "\nreturn {moved, redis.call('LLEN', 'RING_PREFIX' .. ARGV[1])}".replace(
        "RING_PREFIX", keys.RING_PREFIX
    )
)
# KEYS[1]: the due set, KEYS[2]: the pending index. ARGV: now, limit, depths (JSON {queue: depth}), default
# depth. Members are JSON {"q": queue, "t": tenant, "m": message, "e": event id or ""} ("e" absent in members
# deferred by an older release). A released event's pending-index entry says it was handed to the queues now.
RELEASE_LUA = (
    FAIR_LUA_FUNCTIONS
    + """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local depths = cjson.decode(ARGV[3])
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  local item = cjson.decode(member)
  if item['t'] == '' then
    redis.call('LPUSH', item['q'], item['m'])
  else
    fair_push(item['q'], item['t'], item['m'], tonumber(depths[item['q']] or ARGV[4]))
  end
  if item['e'] and item['e'] ~= '' then
    redis.call('ZADD', KEYS[2], 'XX', ARGV[1], item['e'])
  end
end
return #due
"""
)


WAITING_FRESH_S = 0.5


class FairQueues:
    """Enqueue by tenant, dispatch, and delay: the one way tenant work reaches the shared Celery queues."""

    def __init__(
        self, r: RedisClient, depth: int, fair: frozenset[str], depths: dict[str, int] | None = None
    ):
        """`depth`: messages kept ready on each fair queue; `depths`: per queue, where it differs."""
        self.r = r
        self.depth = depth
        self.depths = dict(depths or {})
        self.fair = fair
        self._enqueue = r.register_script(ENQUEUE_LUA)
        self._dispatch = r.register_script(DISPATCH_LUA)
        self._release = r.register_script(RELEASE_LUA)
        self._waiting: dict[str, tuple[int, float]] = {}  # queue -> (tenants with waiting work, when seen)

    def depth_of(self, queue: str) -> int:
        return self.depths.get(queue, self.depth)

    def enqueue(self, queue: str, tenant: str, message: str) -> None:
        if queue in self.fair and tenant:
            self._enqueue(args=[queue, tenant, message, self.depth_of(queue)])
        else:
            self.r.lpush(queue, message)

    def dispatch(self, queue: str, budget: int | None = None) -> int:
        if queue not in self.fair:
            return 0
        depth = self.depth_of(queue)
        moved, waiting = self._dispatch(args=[queue, depth, budget or depth])
        self._waiting[queue] = (int(waiting), time.monotonic())
        return int(moved)

    def refill(self, queue: str) -> int:
        """After a task: dispatch, unless no tenant had work waiting a moment ago (most of the time: the
        queue holds everything). The upkeep threads' regular `dispatch` keeps that knowledge fresh."""
        waiting, seen = self._waiting.get(queue, (1, 0.0))
        if waiting == 0 and time.monotonic() - seen < WAITING_FRESH_S:
            return 0
        return self.dispatch(queue)

    def defer(self, queue: str, tenant: str, message: str, due_at: float) -> None:
        """Hand the message back at `due_at` (into its tenant's lane), from whichever worker is up then. Its
        event (if it works for one) is not due for the recovery sweep before then."""
        event_id = event_of(message) or ""
        member = json.dumps(
            {"q": queue, "t": tenant if queue in self.fair else "", "m": message, "e": event_id}
        )
        pipe = self.r.pipeline()
        pipe.zadd(keys.DUE, {member: due_at})
        if event_id:
            pipe.zadd(keys.PENDING, {event_id: due_at}, xx=True)  # only while pending (settled: not in it)
        pipe.execute()

    def release_due(self, now: float | None = None, limit: int = 500) -> int:
        args: list[float | int | str] = [
            time.time() if now is None else now,
            limit,
            json.dumps(self.depths),
            self.depth,
        ]
        return int(self._release(keys=[keys.DUE, keys.PENDING], args=args))

    def backlog(self, queue: str) -> dict[str, int]:
        """Messages waiting per tenant lane (operators: who is flooding)."""
        tenants = self.r.lrange(keys.ring(queue), 0, -1)
        pipe = self.r.pipeline()
        for tenant in tenants:
            pipe.llen(keys.lane(queue, tenant))
        return dict(zip(tenants, (int(n) for n in pipe.execute()), strict=True))


@lru_cache(maxsize=4)
def fair_queues(redis_url: str | None = None) -> FairQueues:
    settings = get_settings()
    return FairQueues(
        sync_client(redis_url or settings.REDIS_URL),
        settings.FAIR_QUEUE_DEPTH,
        FAIR_QUEUES,
        queue_depths(settings),
    )


def enqueue(
    task: Task,
    args: list[Any],
    kwargs: dict[str, Any] | None = None,
    *,
    tenant: str,
    queue: str | None = None,
) -> str:
    """Start `task(*args, **kwargs)` for `tenant` (an integration id; "" for fleet-wide work); returns the
    task id. Every task the service starts goes through here, by tenant, so the fair queues see it: Celery's
    own `apply_async` would push straight onto the shared list and let a flooding tenant's work overtake
    everyone's. Typed on the registry (config/queues.py `Task`): an unknown name is a type error."""
    return resend(task, args, kwargs, tenant=tenant, queue=queue)


def resend(
    task_name: str,
    args: list[Any],
    kwargs: dict[str, Any] | None = None,
    *,
    tenant: str,
    queue: str | None = None,
    traceparent: str | None = None,
) -> str:
    """`enqueue` for a task known by the name it was stored under (a dead letter's, a test's): replays send
    again what was sent once, whichever release named it. `traceparent`: the trace the task continues
    (store/messages.py), when not the current span's."""
    queue = queue or queue_for(task_name)
    task_id = str(uuid.uuid4())
    message = task_message(
        task_name, args, queue, task_id, kwargs=kwargs, tenant=tenant, traceparent=traceparent
    )
    fair_queues().enqueue(queue, tenant, message)
    return task_id
