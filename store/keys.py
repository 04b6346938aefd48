"""Every Redis key the service uses, in one place, so the layout can be read (and changed) at a glance.

Redis runs with `noeviction` (README, "Redis memory"): nothing may grow without bound, so every key has a TTL
or an owner that deletes it. What each key holds, what makes it grow, and what bounds it:

`{int}` is an integration id; `{scope}` is `{Jobber account}:{Aircall company}` (domain/scope.py): every
record that answers "already done?" (a call's or message's activity, an AI note, an action item's task, a
client's contact, a call's snapshots and card) is keyed on what it is about, so it outlives the integration
that wrote it and a reinstall for the same company and account finds it. Those records are never deleted with
an integration; their TTLs bound them.

key | type | grows with | bounded by, one entry per key:

- `aj:ev:{event}` | hash | events received | TTL EVENT_TTL_DAYS. The raw body only while pending;
  settled → compact record
- `aj:ev:{event}:log` | list | attempts of one event | the event's remaining TTL; the latest
  EVENT_LOG_KEPT entries
- `aj:int:{id}:recent` | list | events | capped at RECENT_EVENTS_KEPT ids (LTRIM on every push)
- `aj:int:{id}:pending_bytes` | string | one tenant's pending events | owner: the ledger (claim adds, settle
  takes off; deleted at 0 and with the integration)
- `aj:rate:{int}` | string | webhooks of one tenant in the current window | TTL WEBHOOK_RATE_WINDOW_S
- `aj:dead` | zset | dead letters | DeadLetters prunes entries older than DEAD_LETTER_RETENTION_DAYS
- `aj:dead:{id}` | hash | dead letters (with their raw copy) | TTL DEAD_LETTER_RETENTION_DAYS
  from the last failure
- `aj:dead:{id}:replayed` | string | replays | TTL 10 minutes (REPLAY_CLAIM_S)
- `aj:call:{scope}:{call}` | hash | call events (compact snapshots) | TTL EVENT_TTL_DAYS
- `aj:activity:{scope}:{call|message|ai}:{id}` | hash | calls, messages | TTL 180 days
  (backfill reaches that far)
- `aj:ai:{scope}:{call}` | hash | AI content of calls | TTL 30 days
- `aj:ai_tasks:{scope}:{call}`, `aj:ai_task_attempts:…` | hash | action items | TTL 180 days
- `aj:card:{scope}:{call}` | string | ringing calls (store/cards.py) | TTL 1 day
- `aj:phone:{acct}:{e164}`, `aj:phone_rev:{acct}:{client}` | string, set | callers | TTL 1 day
- `aj:created:{acct}:{e164}`, `aj:created_rev:{acct}:{client}` | string, set | clients we created | TTL 1 day
  once created; 31 days while a create's answer is unknown
- `aj:rlwait:{task id}` | hash | rate-limited tasks | TTL 1 day
- `aj:replica_wait_mark` | string | one key | TTL 60 s (the ingest's WAIT, store/replication.py)
- `aj:lock:*` | string | work in flight (keys.lock: flows/activity.py, contact_sync.py,
  vendors.py) | TTL (seconds)
- `aj:jobber:bucket:{acct}`, `aj:aircall:budget:{co}`, `aj:aircall:blocked:{co}` | hash, zset,
  string | accounts | TTL 1 h / 65 s / the reset
- `aj:session:*`, `aj:signin:*` | hash, string | admins signing in | TTL (hours); an uninstalled integration's
  session becomes a marker (no integration id) for the rest of its TTL
- `aj:jobber_pending:{digest}` | string | Jobber consents awaiting an admin (store/pending_jobber.py) | TTL:
  the hold (1 h) + a day for the sweep
- `aj:jobber_pending_due` | zset | the same | owner: PendingConnections (taking a record removes its entry;
  the sweep drops the rest)
- `aj:int:{id}:page:*` | string | settings-page views | TTL minutes
- `aj:integrations`, `aj:int:{id}`, `aj:whtok` | set, hash, hash | installs | owner: IntegrationStore (a
  deleted install is a small tombstone, kept so Aircall's late deliveries are acknowledged; the purge removes
  it TOMBSTONE_DAYS after the delete)
- `aj:jobber_accounts` | hash | connected Jobber accounts | owner: IntegrationStore (released
  on delete / takeover)
- `aj:contacts:{scope}` | hash | the account's Jobber clients | TTL CONTACT_MAP_TTL_DAYS from the last write
  or sweep (store/contacts.py)
- `aj:contact_scopes` | hash | (Jobber account, Aircall company) pairs that ever synced contacts | owner:
  ContactMap; never deleted (one short field per pair, like the integration tombstones)
- `aj:purge`, `aj:purge:tombstones`, `aj:purge:pass` | zset, zset, hash | deleted integrations | owner: the
  purge (flows/purge.py): an entry leaves `aj:purge` when a pass purged it, `…:tombstones` when the tombstone
  goes (TOMBSTONE_DAYS); the pass is deleted when it ends
- `aj:contactsync:{int}`, `…:status`, `aj:reconcile:{int}` | string, hash | integrations | deleted
  with the integration
- `aj:contactsync:{int}:run` | hash | a sync in progress | TTL a day after its last page; deleted when it ends
- `aj:stat:*` | hash, string | task names by outcomes, vendors by statuses, Jobber API versions; webhooks
  refused with 429 per integration and reason (`aj:stat:throttled`, the last one's time in
  `aj:stat:throttled_at`); histogram buckets (`task_seconds`, `vendor_seconds` per vendor, `card_seconds`);
  Jobber token refreshes by outcome; beat jobs' interval and last run (`aj:stat:beat_jobs`, store/stats.py);
  rate-limit waits per integration and vendor (`aj:stat:rate_limit_waits`) | fixed sets (counters, no TTL on
  purpose); beat jobs: the schedule's (a worker drops the jobs no longer in it when it starts); throttled and
  rate-limit waits: small fields per integration that ever had one, dropped by the purge with the integration
- `aj:jobber:version_notices` | hash | Jobber API versions answered with a warning or another version | TTL 30
  days from the last one (store/api_versions.py)
- `aj:worker:{name}` | hash | running worker processes (their heartbeat) | TTL 60 s, renewed every few
  seconds; deleted at a clean stop
- `aj:workers` | zset | running worker processes: name -> last heartbeat (so /metrics and `ajctl status` find
  them without a SCAN) | TTL 60 s, renewed by every heartbeat; each heartbeat drops members older than 60 s; a
  clean stop removes its own
- `cards`, `default`, `jobber`, `aircall`, `sync` | list | the backlog | drained by workers; never capped (a
  cap would lose events): alert on aj_queue_oldest_message_age_seconds
- `aj:lane:{queue}:{int}`, `aj:ring:{queue}` | list | one tenant's backlog | owner: the dispatch
  (store/queues.py) empties them into the queue (an empty list is no key)
- `aj:due` | zset | retries and rate-limit waits | owner: the upkeep threads move each back when due
- `unacked`, `unacked_index`, `unacked_mutex` | hash, zset, string | messages being worked on | kombu
  removes them at the ack
- `_kombu.binding*` | set, zset | queues, exchanges | fixed; kombu owns them
"""

from __future__ import annotations

from domain.scope import Scope

PREFIX = "aj"

INTEGRATIONS = f"{PREFIX}:integrations"  # set of integration ids
WEBHOOK_TOKENS = f"{PREFIX}:whtok"  # hash sha256(aircall webhook token) -> integration id
# hash Jobber account id -> the integration holding its one connection
JOBBER_ACCOUNTS = f"{PREFIX}:jobber_accounts"
DEAD_LETTERS = f"{PREFIX}:dead"  # zset event/dead-letter id -> last failure time
# hash scope -> when its contact sync first ran (store/contacts.py): a scope listed here whose contact map is
# gone (expired) may have contacts of ours in Aircall that no mapping names, so creates look for them first.
CONTACT_SCOPES = f"{PREFIX}:contact_scopes"
# zset reference hash -> when a waiting Jobber consent's hold runs out (store/pending_jobber.py): beat's sweep
# disconnects in Jobber what no admin attached.
PENDING_JOBBER_DUE = f"{PREFIX}:jobber_pending_due"
STAT_DUPLICATES = f"{PREFIX}:stat:duplicates"  # counter of duplicate webhook deliveries
# hash "integration|reason" -> webhooks refused with 429 (reason rate_limited / backlog_full; store/ledger.py)
STAT_THROTTLED = f"{PREFIX}:stat:throttled"
STAT_THROTTLED_AT = f"{PREFIX}:stat:throttled_at"  # hash "integration|reason" -> the last refusal (UNIX s)
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
# hash "vendor|bucket|<le>" -> count, "vendor|sum": how long vendor requests took (aj_vendor_request_seconds)
STAT_VENDOR_SECONDS = f"{PREFIX}:stat:vendor_seconds"
VENDOR_SECONDS_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# hash "bucket|<le>" -> count, "sum", "count":
# a ringing call's webhook received -> its card posted (aj_card_seconds)
STAT_CARD_SECONDS = f"{PREFIX}:stat:card_seconds"
CARD_SECONDS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)  # CARD_WINDOW_S is 60 s
# hash "integration|vendor" -> times its work was parked for the vendor's rate limit (worker/retry.py)
STAT_RATE_LIMIT_WAITS = f"{PREFIX}:stat:rate_limit_waits"
# hash outcome (ok | failed) -> Jobber token refreshes
STAT_JOBBER_REFRESHES = f"{PREFIX}:stat:jobber_refreshes"
# hash "task|every" (the schedule's interval, s), "task|since" (when a worker first found it in the schedule),
# "task|last_run" (when it last ran to completion): beat's jobs, by task name (store/stats.py BeatJobs)
STAT_BEAT_JOBS = f"{PREFIX}:stat:beat_jobs"
# hash "requested|answered" -> Jobber answers carrying a version warning or another version
# (store/api_versions.py)
STAT_JOBBER_VERSION_NOTICES = f"{PREFIX}:stat:jobber_version_notices"
# hash "requested|answered" -> the last one (JSON)
JOBBER_VERSION_NOTICES = f"{PREFIX}:jobber:version_notices"
WORKER_PREFIX = f"{PREFIX}:worker:"
# zset worker name -> its last heartbeat (UNIX s); TTL renewed by each heartbeat
WORKERS = f"{PREFIX}:workers"
KOMBU_UNACKED = "unacked"  # kombu's Redis transport: hash delivery tag -> message a worker holds
KOMBU_UNACKED_INDEX = "unacked_index"  # kombu's zset delivery tag -> delivery time (`unacked_index_key`)

# Keys without a TTL, each with the owner that deletes it (see the table above). Anything else must expire:
# tests/reliability/test_memory_soak.py checks every key of a soak run against this list.
PERSISTENT = (
    INTEGRATIONS,
    WEBHOOK_TOKENS,
    JOBBER_ACCOUNTS,
    DEAD_LETTERS,
    f"{PREFIX}:int:*",
    f"{PREFIX}:stat:*",
    CONTACT_SCOPES,
    f"{PREFIX}:contactsync:*",
    f"{PREFIX}:reconcile:*",
    "cards",
    "default",
    "jobber",
    "aircall",
    "sync",
    f"{PREFIX}:lane:*",
    f"{PREFIX}:ring:*",
    f"{PREFIX}:due",
    f"{PREFIX}:pending",
    PENDING_JOBBER_DUE,
    f"{PREFIX}:purge",
    f"{PREFIX}:purge:*",
    "unacked",
    "unacked_index",
    "unacked_mutex",
    "_kombu.*",
)


def integration(integration_id: str) -> str:
    return f"{PREFIX}:int:{integration_id}"


def worker(name: str) -> str:
    """One running worker process's heartbeat (store/workers.py): it expires when the worker stops beating."""
    return f"{WORKER_PREFIX}{name}"


def event(event_id: str) -> str:
    return f"{PREFIX}:ev:{event_id}"


def event_log(event_id: str) -> str:
    """Attempts and skips of one event, oldest first (JSON lines)."""
    return f"{PREFIX}:ev:{event_id}:log"


EVENT_LOG_KEPT = 50  # a long rate-limit wait retries many times; the latest attempts tell the story


def dead_letter(dead_id: str) -> str:
    return f"{PREFIX}:dead:{dead_id}"


def dead_letter_replayed(dead_id: str) -> str:
    """A dead letter replayed a moment ago (store/dead_letters.py RELEASE_LUA):
    a concurrent replay stands down."""
    return f"{PREFIX}:dead:{dead_id}:replayed"


def rate_limited(task_id: str) -> str:
    """Hash of one Celery task id's rate-limit waits: `waits` (they do not spend attempts) and `seconds` (all
    of them together, against RATE_LIMIT_BUDGET_S). TTL one day."""
    return f"{PREFIX}:rlwait:{task_id}"


def pending_bytes(integration_id: str) -> str:
    """Bytes of the integration's events received and not yet settled (store/ledger.py,
    TENANT_PENDING_MAX_BYTES). The claim script derives it as the integration key + this suffix."""
    return f"{integration(integration_id)}:pending_bytes"


def webhook_rate(integration_id: str) -> str:
    """The integration's webhooks in the current fixed window (WEBHOOK_RATE_LIMIT);
    expires with the window."""
    return f"{PREFIX}:rate:{integration_id}"


def recent_events(integration_id: str) -> str:
    """The integration's latest event ids, newest first, capped (the settings page's recent activity)."""
    return f"{PREFIX}:int:{integration_id}:recent"


RECENT_EVENTS_KEPT = 100


def call_state(scope: Scope, call_id: int | str) -> str:
    """A call's compact event snapshots, by event id (store/calls.py)."""
    return f"{PREFIX}:call:{scope.key}:{call_id}"


def activity(scope: Scope, resource: str, resource_id: str) -> str:
    """Which Jobber note (or request) holds a call's or message's activity (store/activities.py)."""
    return f"{PREFIX}:activity:{scope.key}:{resource}:{resource_id}"


def contact_map(scope: Scope) -> str:
    """Jobber client id → Aircall contact (store/contacts.py)."""
    return f"{PREFIX}:contacts:{scope.key}"


def contact_sync_watermark(integration_id: str) -> str:
    return f"{PREFIX}:contactsync:{integration_id}"


def reconcile_watermark(integration_id: str) -> str:
    """Until when reconciliation has listed the integration's Aircall calls
    (flows/reconcile.py, store/backfill.py)."""
    return f"{PREFIX}:reconcile:{integration_id}"


def ai_content(scope: Scope, call_id: str) -> str:
    return f"{PREFIX}:ai:{scope.key}:{call_id}"


def ai_tasks(scope: Scope, call_id: str) -> str:
    """Action item id → the Jobber task created for it (store/insights.py)."""
    return f"{PREFIX}:ai_tasks:{scope.key}:{call_id}"


def ai_task_attempts(scope: Scope, call_id: str) -> str:
    return f"{PREFIX}:ai_task_attempts:{scope.key}:{call_id}"


def phone(account_id: str, e164: str) -> str:
    return f"{PREFIX}:phone:{account_id}:{e164}"


def phone_reverse(account_id: str, client_id: str) -> str:
    return f"{PREFIX}:phone_rev:{account_id}:{client_id}"


def created_client(account_id: str, e164: str) -> str:
    """The "Aircall new client" we created (or began creating) for a number in a Jobber account
    (store/created_clients.py)."""
    return f"{PREFIX}:created:{account_id}:{e164}"


def created_client_reverse(account_id: str, client_id: str) -> str:
    return f"{PREFIX}:created_rev:{account_id}:{client_id}"


def jobber_bucket(account_id: str) -> str:
    return f"{PREFIX}:jobber:bucket:{account_id}"


def aircall_budget(company_id: str) -> str:
    return f"{PREFIX}:aircall:budget:{company_id}"


def aircall_blocked(company_id: str) -> str:
    return f"{PREFIX}:aircall:blocked:{company_id}"


def session(session_hash: str) -> str:
    """A settings-page session, by the SHA-256 of its cookie value (the cookie itself is never stored)."""
    return f"{PREFIX}:session:{session_hash}"


def signin_link(token_hash: str) -> str:
    """A one-time sign-in link to one integration's settings page, by the SHA-256 of its token."""
    return f"{PREFIX}:signin:{token_hash}"


def pending_jobber(reference_hash: str) -> str:
    """A Jobber consent awaiting an admin (encrypted), by the SHA-256 of the browser's reference to it
    (store/pending_jobber.py)."""
    return f"{PREFIX}:jobber_pending:{reference_hash}"


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
# zset event id -> when it was last handed to the queues, for every event still pending (store/ledger.py);
# the recovery sweep (flows/recovery.py) re-enqueues one whose message no queue holds any more.
PENDING = f"{PREFIX}:pending"
# The uninstall purge (flows/purge.py): zset integration id -> when its data purge is due (set by
# mark_deleted); the pass in progress (hash: SCAN cursor, the integrations and accounts it purges, counts);
# zset integration id -> when its tombstone goes.
PURGE_DUE = f"{PREFIX}:purge"
PURGE_PASS = f"{PREFIX}:purge:pass"
TOMBSTONES = f"{PREFIX}:purge:tombstones"


def lane(queue: str, tenant: str) -> str:
    return f"{LANE_PREFIX}{queue}:{tenant}"


def ring(queue: str) -> str:
    return f"{RING_PREFIX}{queue}"


def contact_sync_run(integration_id: str) -> str:
    """The integration's contact-sync run in progress: run id, query window, Jobber page cursor, counts.
    One run at a time (single flight); it expires a day after its last page (an abandoned run is resumed
    by the next sweep before that, then restarted from the watermark after)."""
    return f"{PREFIX}:contactsync:{integration_id}:run"


def integration_state(integration_id: str) -> list[str]:
    """What an integration's work keeps without a TTL: deleted with the integration (mark_deleted). Records
    keyed on a scope are not among them: they outlive the integration (a reinstall finds them)."""
    return [
        contact_sync_watermark(integration_id),
        contact_sync_status(integration_id),
        reconcile_watermark(integration_id),
        contact_sync_run(integration_id),
        page_cache(integration_id, "numbers"),
        page_cache(integration_id, "client"),
        pending_bytes(integration_id),
    ]


def card_claim(scope: Scope, call_id: int | str) -> str:
    """The one insight card of a ringing call:
    which event claims it, then `posted:<event>` (store/cards.py)."""
    return f"{PREFIX}:card:{scope.key}:{call_id}"


def lock(kind: str, *parts: str) -> str:
    """A lock on work in flight (store/locks.py), e.g. `lock("activity", scope.key, "call", call_id)`:
    `activity` (one activity write at a time per scope and resource), `newclient` (one new client per number
    and account), `contact` (one contact write per scope and client), `jobber_refresh` (one token refresh per
    account)."""
    return ":".join((PREFIX, "lock", kind, *parts))
