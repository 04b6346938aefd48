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
# Written by the ingest just before its WAIT (store/replication.py), so the WAIT covers everything before it.
REPLICA_WAIT_MARK = f"{PREFIX}:replica_wait_mark"  # expires after REPLICA_WAIT_MARK_TTL_S
REPLICA_WAIT_MARK_TTL_S = 60
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
    """Hash of one Celery task id's rate-limit waits: `waits` (they do not spend attempts) and `seconds` (all
    of them together, against RATE_LIMIT_BUDGET_S). TTL one day."""
    return f"{PREFIX}:rlwait:{task_id}"


def recent_events(integration_id: str) -> str:
    """The integration's latest event ids, newest first, capped (the settings page's recent activity)."""
    return f"{PREFIX}:int:{integration_id}:recent"


RECENT_EVENTS_KEPT = 100


def session(session_hash: str) -> str:
    """A settings-page session, by the SHA-256 of its cookie value (the cookie itself is never stored)."""
    return f"{PREFIX}:session:{session_hash}"


def signin_link(token_hash: str) -> str:
    """A one-time sign-in link to one integration's settings page, by the SHA-256 of its token."""
    return f"{PREFIX}:signin:{token_hash}"


def pending_jobber(session_hash: str) -> str:
    """Jobber tokens from a finished consent, awaiting the admin's confirmation (encrypted; short TTL)."""
    return f"{PREFIX}:session:{session_hash}:pending_jobber"


def contact_sync_status(integration_id: str) -> str:
    """The latest contact-sync run of an integration: running or finished, when, and its counts."""
    return f"{PREFIX}:contactsync:{integration_id}:status"


def page_cache(integration_id: str, what: str) -> str:
    """Vendor reads the settings page caches for a few minutes (the company's numbers, a preview client)."""
    return f"{PREFIX}:int:{integration_id}:page:{what}"


# Fair queues (store/queues.py): per-tenant lanes in front of each shared Celery queue, the ring of tenants
# with waiting work, and the delayed messages. Owned by the dispatch: a lane is emptied into its queue, a due
# message is moved back when due.
LANE_PREFIX = f"{PREFIX}:lane:"
RING_PREFIX = f"{PREFIX}:ring:"
DUE = f"{PREFIX}:due"


def lane(queue: str, tenant: str) -> str:
    return f"{LANE_PREFIX}{queue}:{tenant}"


def ring(queue: str) -> str:
    return f"{RING_PREFIX}{queue}"


def contact_sync_run(integration_id: str) -> str:
    """The integration's contact-sync run in progress: run id, query window, Jobber page cursor, counts.
    One run at a time (single flight); it expires a day after its last page (an abandoned run is resumed
    by the next sweep before that, then restarted from the watermark after)."""
    return f"{PREFIX}:contactsync:{integration_id}:run"
