"""The logging steps shared by calls and messages: find the client, create it if allowed (one per number
even under races), and write or update exactly one activity (note, or request + note) per resource."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from clients.jobber import JobberClient
from config import tracing
from config.logging import bind_ids
from domain.activity import Activity
from domain.matching import ClientRef
from domain.phone import same_number
from domain.scope import NoScope, Scope
from flows.client_search import search_client
from store import keys
from store.activities import Activities, ActivityRecord, Kind, text_hash
from store.calls import CallStates
from store.created_clients import CreatedClients
from store.integrations import Integration, IntegrationStore
from store.ledger import Ledger
from store.locks import Held, hold
from store.phones import PhoneCache
from store.redis import RedisClient, sync_client

log = logging.getLogger(__name__)

NEW_CLIENT_FIRST_NAME = "Aircall"
NEW_CLIENT_LAST_NAME = "new client"


class Skip(Exception):
    """The event changes nothing in Jobber, on purpose; the reason is shown to operators."""


@dataclass
class EventContext:
    event_id: str
    event: str
    data: dict[str, Any]
    timestamp: int
    received_at: str
    resource_id: str
    integration: Integration
    r: RedisClient
    ledger: Ledger

    @property
    def account_id(self) -> str:
        account = self.integration.jobber_account
        if account is None:
            raise Skip("Jobber is not connected")
        return account.id

    @property
    def scope(self) -> Scope:
        """What the event's records are keyed on: the Jobber account and the Aircall company."""
        return scope_of(self.integration)


def scope_of(integration: Integration) -> Scope:
    try:
        return Scope.of(integration)
    except NoScope as exc:
        raise Skip(str(exc)) from None


class Settled(Exception):
    """The event settled earlier and its raw body was dropped (a message redelivered after the ack was lost):
    its outcome stands."""


# A flow: what runs for one event, given its loaded context; returns its outcome (recorded in the ledger).
Flow = Callable[[EventContext], str]


def load_event(event_id: str) -> EventContext:
    r = sync_client()
    ledger = Ledger(r)
    entry, record = ledger.get_with_integration(event_id)
    if entry is None:
        raise Skip("event expired from the ledger")
    event, resource_id = entry["event"], entry.get("resource_id") or ""
    integration = IntegrationStore.from_record(record)
    data, timestamp = _body(r, entry, event_id, integration)
    if integration is None:
        raise KeyError(f"no integration {entry.get('integration')}")
    if not integration.is_active:
        raise Skip(f"integration {integration.status}")
    return EventContext(
        event_id=event_id,
        event=event,
        data=data,
        timestamp=timestamp,
        received_at=entry.get("received_at") or "",
        resource_id=resource_id,
        integration=integration,
        r=r,
        ledger=ledger,
    )


def _body(
    r: RedisClient, entry: dict[str, str], event_id: str, integration: Integration | None
) -> tuple[dict[str, Any], int]:
    """The event's `data` and `timestamp`: from the raw body while the ledger keeps it, else (a call event
    that settled) from the call's snapshot, which holds every field the call flows read."""
    if "raw" in entry:
        raw: dict[str, Any] = json.loads(entry["raw"])
        return raw.get("data") or {}, int(raw.get("timestamp") or 0)
    scope = _scope_or_none(integration)
    snapshot = (
        CallStates(r).snapshot(scope, entry.get("resource_id") or "", event_id) if scope is not None else None
    )
    if snapshot is not None:
        return snapshot.data, snapshot.timestamp
    if entry.get("outcome") in (None, "", "pending"):
        raise Skip(
            "the raw event is no longer kept (dropped when the event first settled): nothing to re-run"
        )
    raise Settled(entry.get("outcome"))


def _scope_or_none(integration: Integration | None) -> Scope | None:
    try:
        return Scope.of(integration) if integration is not None else None
    except NoScope:
        return None


def run_flow(event_id: str, flow: Flow) -> str:
    """Run a flow for one event and record its outcome; `Skip` is an outcome, not a failure. With tracing on,
    in a span of its own (config/tracing.py) with the event's ids and outcome, never the skip's reason."""
    if tracing.enabled():
        name = f"flow {flow.__module__.rsplit('.', 1)[-1]}.{flow.__name__}"
        with tracing.span(name, tracing.ids(event_id=event_id)):
            return _run_flow(event_id, flow)
    return _run_flow(event_id, flow)


def _run_flow(event_id: str, flow: Flow) -> str:
    ledger = Ledger(sync_client())
    try:
        with bind_ids(event_id=event_id):
            ctx = load_event(event_id)
            if tracing.enabled():
                tracing.note(tracing.ids(integration_id=ctx.integration.id, resource_id=ctx.resource_id))
            with bind_ids(integration_id=ctx.integration.id, resource_id=ctx.resource_id):
                result = flow(ctx)
    except Skip as skip:
        ledger.record_skip(event_id, str(skip))
        log.info("tasks.skipped event=%s reason=%s", event_id, skip)
        tracing.note({"aj.outcome": "skipped"})
        return "skipped"
    except Settled as settled:
        log.info("tasks.already_settled event=%s outcome=%s", event_id, settled)
        tracing.note({"aj.outcome": "already_settled"})
        return "already settled"
    ledger.set_outcome(event_id, "done", result)
    tracing.note({"aj.outcome": "done"})
    return result


def find_client(
    ctx: EventContext, jobber: JobberClient, e164: str, region: str | None, cached: ClientRef | None = None
) -> ClientRef | None:
    """The client of a number: `cached` (the phone cache, already read by the caller), else the cache, else
    Jobber's search -- in which a client we created for the number competes even while the search does not
    show it yet."""
    if cached is not None:
        return cached
    cached, created = CreatedClients(ctx.r).with_cached_match(ctx.account_id, e164)
    if cached is not None:
        return cached
    client = search_client(jobber, e164, region, known=created.client if created else None)
    if client is not None:
        PhoneCache(ctx.r).put(ctx.account_id, e164, client)
    return client


def ensure_client(
    ctx: EventContext, jobber: JobberClient, e164: str, region: str | None, cached: ClientRef | None = None
) -> ClientRef:
    """The client for this number; created as "Aircall new client" when missing and creation is on."""
    client = find_client(ctx, jobber, e164, region, cached)
    if client is not None:
        return client
    if not ctx.integration.settings.create_missing_clients:
        raise Skip(f"no Jobber client has {e164}, and contact creation is off")
    # One client per new number even when two events race: a lock per account and number, and a second
    # look inside it (the winner recorded what it created).
    with hold(ctx.r, keys.lock("newclient", ctx.account_id, e164), wait_s=30) as lock:
        client = find_client(ctx, jobber, e164, region)
        if client is None:
            client = _create_client(ctx, jobber, e164, region, lock)
        return client


def _create_client(
    ctx: EventContext, jobber: JobberClient, e164: str, region: str | None, lock: Held
) -> ClientRef:
    """Create the number's client once: an earlier attempt whose answer was lost is found among the clients
    created since it began, not created twice (store/created_clients.py)."""
    created = CreatedClients(ctx.r)
    attempt, first = created.begin(ctx.account_id, e164)
    client = attempt.client or (None if first else _adopt_client(jobber, e164, region, attempt.started_at))
    if client is None:
        lock.check()
        client = jobber.create_client(NEW_CLIENT_FIRST_NAME, NEW_CLIENT_LAST_NAME, e164)
        log.info("tasks.client_created integration=%s client=%s", ctx.integration.id, client.id)
    else:
        log.info("tasks.client_adopted integration=%s client=%s", ctx.integration.id, client.id)
    created.done(ctx.account_id, e164, attempt.started_at, client)
    PhoneCache(ctx.r).put(ctx.account_id, e164, client)
    return client


def _adopt_client(jobber: JobberClient, e164: str, region: str | None, started_at: str) -> ClientRef | None:
    """The "Aircall new client" with this number that an earlier attempt created, if it did."""
    since = since_attempt(started_at)
    ours = [
        c
        for c in jobber.clients_created_since(since)
        if (c.first_name, c.last_name) == (NEW_CLIENT_FIRST_NAME, NEW_CLIENT_LAST_NAME)
        and not c.archived
        and any(normalized == e164 or same_number(number, e164, region) for number, normalized in c.phones)
    ]
    return min(ours, key=lambda c: c.client.id).client if ours else None


@dataclass(frozen=True)
class Tenant:
    """What writing an activity needs: the integration and Redis."""

    integration: Integration
    r: RedisClient

    @property
    def scope(self) -> Scope:
        return scope_of(self.integration)


def activity_lock(
    ctx: EventContext | Tenant, resource: str, resource_id: str
) -> AbstractContextManager[Held]:
    # Inside: match, maybe create the client, adopt or create or edit the note (at most ~5 requests). Renewed
    # while held (store/locks.py); a killed holder frees it within seconds. Per scope, like the records it
    # guards: an integration and its reinstall never write the same activity at once.
    key = keys.lock("activity", ctx.scope.key, resource, resource_id)
    return hold(ctx.r, key, wait_s=10)


class Unread:
    """Marks an argument the caller did not read (None is a real answer: no record yet)."""


UNREAD = Unread()


def upsert_activity(
    ctx: EventContext | Tenant,
    jobber: JobberClient,
    resource: str,
    resource_id: str,
    client_id: str,
    activity: Activity,
    marker: str,
    lock: Held,
    record: ActivityRecord | Unread | None = UNREAD,
) -> str:
    """Create the activity once, then only edit it. Call inside `activity_lock` (its `lock`: every Jobber
    write first checks it is still held); `record`: the activity record, if the caller read it inside the same
    lock. Returns what happened."""
    activities, scope = Activities(ctx.r), ctx.scope
    if isinstance(record, Unread):
        record = activities.get(scope, resource, resource_id)
    digest = text_hash(activity.text)
    if record is not None and record.state == "creating":
        # An earlier attempt may have created it; if not, its record (kind, request, start time) is kept.
        record = (
            _adopt(jobber, record, marker, title_marker(resource, resource_id), ai=resource == "ai") or record
        )
    if record is not None and record.state == "done":
        if record.text_hash == digest:
            return "unchanged"
        lock.check()
        if record.kind == "request":
            jobber.edit_request_note(str(record.note_id), activity.text)
        else:
            jobber.edit_client_note(str(record.note_id), activity.text)
        activities.put(scope, resource, resource_id, replace(record, text_hash=digest))
        return "updated"

    if record is not None:  # interrupted earlier: keep its choice of kind and any request it created
        pending = record
    else:
        kind: Kind = "request" if ctx.integration.settings.log_activity_as == "request" else "note"
        pending = ActivityRecord("creating", kind, client_id, started_at=now_iso())
        activities.put(scope, resource, resource_id, pending)
    client_id = pending.client_id
    lock.check()
    if pending.kind == "request":
        title = f"{activity.title} {title_marker(resource, resource_id)}"
        request_id = pending.request_id or jobber.create_request(client_id, title)
        activities.put(scope, resource, resource_id, replace(pending, request_id=request_id))
        lock.check()
        note_id = jobber.create_request_note(request_id, activity.text)
        done = ActivityRecord("done", "request", client_id, note_id, request_id, digest)
    else:
        note_id = jobber.create_client_note(client_id, activity.text)
        done = ActivityRecord("done", "note", client_id, note_id, None, digest)
    activities.put(scope, resource, resource_id, done)
    log.info(
        "tasks.activity_logged integration=%s %s=%s as=%s",
        ctx.integration.id,
        resource,
        resource_id,
        done.kind,
    )
    return "logged"


AI_NOTE_PREFIX = "AI insights — "
# How far before an attempt's start a retry looks for what it created: Jobber's clock may differ from ours.
CLOCK_SLACK_S = 3600
UNKNOWN_START_LOOKBACK_S = 7 * 86400  # records written before attempts were timed


def title_marker(resource: str, resource_id: str) -> str:
    """Ends the title of a request we create, so a retry can find it when requestCreate's answer was lost
    (a request carries no other field of ours; its note is written after it). An AI-insights request shares
    its call's marker and is told apart by its title's first words."""
    return f"(Aircall {'message' if resource == 'message' else 'call'} {resource_id})"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def since_attempt(started_at: str | None) -> str:
    """ISO 8601 moment after which an interrupted attempt's creations lie (its start, minus clock slack)."""
    try:
        start = datetime.fromisoformat(started_at or "")
    except ValueError:
        start = datetime.now(UTC) - timedelta(seconds=UNKNOWN_START_LOOKBACK_S)
    return (start - timedelta(seconds=CLOCK_SLACK_S)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _adopt(
    jobber: JobberClient, record: ActivityRecord, marker: str, title_end: str, ai: bool
) -> ActivityRecord | None:
    """What an interrupted attempt created, or None if it created nothing. A request is found among the
    client's requests created since the attempt, by the marker ending its title; a note among the notes
    created since the attempt (newest first), by `marker` as one whole line (`Aircall: …/calls/123` is not the
    line of call 1234), or as its whole text when the marker spans lines. A call's activity and its
    AI-insights note share the `Aircall:` line, so the kind is told apart by the AI note's first words."""
    since = since_attempt(record.started_at)
    if record.kind == "request" and not record.request_id:
        created = jobber.requests_created_since(record.client_id, since)
        found = next(
            (
                r["id"]
                for r in created
                if (r.get("title") or "").endswith(title_end)
                and (r.get("title") or "").startswith(AI_NOTE_PREFIX) == ai
            ),
            None,
        )
        if found is None:
            return None  # requestCreate never ran
        record = replace(record, request_id=str(found))
    if record.kind == "request" and record.request_id:
        notes = jobber.request_notes_since(record.request_id, since)
    else:
        notes = jobber.client_notes_since(record.client_id, since)
    for note_id, message in notes:
        if _carries(message, marker) and message.startswith(AI_NOTE_PREFIX) == ai:
            return replace(record, state="done", note_id=note_id, text_hash=None)
    if record.kind == "request":
        return record  # the request exists without its note: create only the note
    return None


def _carries(message: str, marker: str) -> bool:
    """`message` holds `marker` as one of its lines, or is `marker` (a marker of several lines), whitespace at
    the ends of lines aside."""

    def lines(text: str) -> list[str]:
        return [line.strip() for line in text.strip().splitlines()]

    wanted = lines(marker)
    if len(wanted) > 1:
        return lines(message) == wanted
    return bool(wanted) and wanted[0] in lines(message)
