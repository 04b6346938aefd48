"""Every Redis key the service uses, in one place, so the layout can be read (and changed) at a glance."""

from __future__ import annotations

PREFIX = "aj"

INTEGRATIONS = f"{PREFIX}:integrations"  # set of integration ids
WEBHOOK_TOKENS = f"{PREFIX}:whtok"  # hash sha256(aircall webhook token) -> integration id
JOBBER_ACCOUNTS = (
    f"{PREFIX}:jobber_accounts"  # hash Jobber account id -> the integration holding its one connection
)
DEAD_LETTERS = f"{PREFIX}:dead"  # zset event/dead-letter id -> last failure time
STAT_DUPLICATES = f"{PREFIX}:stat:duplicates"  # counter of duplicate webhook deliveries
STAT_TASKS = f"{PREFIX}:stat:tasks"  # hash "task|outcome" -> count
STAT_TASK_SECONDS = f"{PREFIX}:stat:task_seconds"  # hash "bucket|<le>" -> count, "sum", "count"
TASK_SECONDS_BUCKETS = (
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)  # upper bounds of aj_task_seconds
STAT_VENDOR_REQUESTS = f"{PREFIX}:stat:vendor_requests"  # hash "vendor|status" -> count


def integration(integration_id: str) -> str:
    return f"{PREFIX}:int:{integration_id}"


def event(event_id: str) -> str:
    return f"{PREFIX}:ev:{event_id}"


def event_log(event_id: str) -> str:
    """Attempts and skips of one event, oldest first (JSON lines)."""
    return f"{PREFIX}:ev:{event_id}:log"


def dead_letter(dead_id: str) -> str:
    return f"{PREFIX}:dead:{dead_id}"


def rate_limited(task_id: str) -> str:
    """How many retries of a Celery task id were rate-limit waits (they do not spend attempts)."""
    return f"{PREFIX}:rl:{task_id}"
