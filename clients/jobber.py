"""Jobber GraphQL adapter (https://developer.getjobber.com/docs/using_jobbers_api/api_queries_and_mutations).

Every document is parsed and validated by `gql`'s schema-aware client against Jobber's real schema (version
2025-04-16, transcribed from an introspection: jobber-schema-2025-04-16.graphql next to this module) the first
time it is used, so a document real Jobber would refuse fails before any request. The transport is our own
(clients/http.py: urllib3's pool), not a GraphQL transport: this adapter must see the raw status and the
plain-JSON, non-GraphQL error bodies Jobber uses for disconnected or inactive accounts (jobber-api.md §1.3),
which a GraphQL transport would hide behind a protocol error.

Errors: HTTP 429 and `THROTTLED` → RateLimited (THROTTLED waits (requested - available) / restoreRate); 5xx,
timeouts, "Service temporarily unavailable" → Transient; the app disconnected from the account →
AppDisconnected (a Disconnected; whatever the status, a 401 included, no token refresh is tried: the tokens
are dead); inactive account → Disconnected; any other 401 (expired token) → Unauthorized (a token refresh
fixes it); other GraphQL errors and userErrors → Permanent.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from gql import Client, gql
from graphql import print_ast

from clients.errors import Disconnected, Permanent, RateLimited, Transient
from clients.http import Reply, Transport, json_or_empty, send, shared_session
from clients.ratelimit import JOBBER_MAX_THROTTLE_WAIT_S, JOBBER_MAX_WAIT_S, bounded, retry_after_wait
from domain.matching import ClientRef

log = logging.getLogger(__name__)
VENDOR = "jobber"
DEFAULT_429_WAIT_S = 30.0


class Unauthorized(Permanent):
    """HTTP 401: the access token expired or is invalid. The token-refresh wrapper retries once."""


class AppDisconnected(Disconnected):
    """ "User has disconnected this app from their account" (jobber-api.md §1.3): the user
    disconnected the app in Jobber (or Jobber did, automatically). Every token of the
    connection is dead: refreshing cannot help."""


@dataclass(frozen=True)
class VersionNotice:
    """What `extensions.versioning` (jobber-api.md §1.2) said beyond "as asked": a warning (the version is
    unsupported, or support is scheduled to stop), or a version other than the one requested (a removed
    version is silently upgraded to the oldest supported one, and breaking changes can then hit)."""

    requested: str
    answered: str
    warning: str  # "" when Jobber gave none


def version_notice(requested: str, body: Any) -> VersionNotice | None:
    """The notice in one Jobber answer, or None when it was served as asked without a warning (or says
    nothing about versions)."""
    extensions = body.get("extensions") if isinstance(body, dict) else None
    versioning = extensions.get("versioning") if isinstance(extensions, dict) else None
    if not isinstance(versioning, dict):
        return None
    answered = str(versioning.get("version") or requested)
    warning = str(versioning.get("warning") or "")
    if not warning and answered == requested:
        return None
    return VersionNotice(requested, answered, warning)


# Observers of every version notice (the worker counts them for /metrics and `ajctl status`): a hook, so the
# adapter stays free of storage. Each distinct notice is also logged once per process, not once per request.
VERSION_OBSERVERS: list[Callable[[VersionNotice], None]] = []
_logged_notices: set[VersionNotice] = set()
_logged_lock = threading.Lock()
MAX_LOGGED_NOTICES = 64  # distinct notices are few (versions x wordings); past this, stop remembering


def _note_version(requested: str, body: Any) -> None:
    notice = version_notice(requested, body)
    if notice is None:
        return
    with _logged_lock:
        first = notice not in _logged_notices and len(_logged_notices) < MAX_LOGGED_NOTICES
        if first:
            _logged_notices.add(notice)
    if first:
        log.warning(
            "jobber.api_version.warning requested=%s answered=%s warning=%s",
            notice.requested,
            notice.answered,
            notice.warning or "(none: the version was changed without one)",
        )
    for observer in VERSION_OBSERVERS:
        try:
            observer(notice)
        except Exception:  # metrics must never break a vendor call
            log.debug("jobber.api_version.observer_failed", exc_info=True)


@dataclass(frozen=True)
class ThrottleStatus:
    maximum: float
    available: float
    restore_rate: float


@dataclass(frozen=True)
class Account:
    id: str
    name: str


SCHEMA = Path(__file__).with_name("jobber-schema-2025-04-16.graphql")


# A worker's first burst asks for documents from up to 128 threads at once: functools' caches do not hold
# back the threads that miss while the first one computes, and building the schema costs ~40 ms of CPU
# (measured: 32 threads built it 7 times). Checks run under this lock, so each is made once per process.
_checking = threading.Lock()


@cache
def _schema_client() -> Client:
    """gql's client with Jobber's schema and no transport: it validates documents locally (under the lock)."""
    return Client(schema=SCHEMA.read_text(encoding="utf-8"))


def _checked(source: str) -> str:
    request = gql(source)
    _schema_client().validate(request)
    return print_ast(request.document)


# source -> canonical text, once checked; read without the lock. The adapter sends a fixed set of documents
# (the constants below, FindByPhone with 1..MAX_SPELLINGS spellings), so it stays small.
_documents: dict[str, str] = {}


def document(source: str) -> str:
    """Parse and validate a GraphQL document once (a GraphQLError for what Jobber's schema refuses), and
    return its canonical text."""
    found = _documents.get(source)
    if found is None:
        with _checking:
            found = _documents.get(source)  # checked by another thread while this one waited?
            if found is None:
                found = _documents[source] = _checked(source)
    return found


def prepare_documents() -> int:
    """Build the schema and validate every document this adapter sends, once, when a worker starts: the
    first requests (a burst of ringing calls waiting for their cards) do not pay for it, and a document
    Jobber's schema refuses stops the worker at start rather than failing its first call. Returns how many."""
    sources = {value for value in globals().values() if isinstance(value, str) and _OPERATION.match(value)}
    sources |= {find_by_phone_document(n) for n in range(1, MAX_SPELLINGS + 1)}
    for source in sources:
        document(source)
    return len(sources)


_OPERATION = re.compile(r"\s*(query|mutation)\b")

ACCOUNT = """query Account { account { id name } }"""
APP_DISCONNECT = """mutation Disconnect { appDisconnect { app { name } userErrors { message path } } }"""

# `clientPhones` is "all client phone numbers, sorted by most recently updated clients" (jobber-api.md §5.3).
# One lookup asks for several spellings of the number at once, each an aliased `clientPhones` field of one
# request (find_by_phone_document). Whether it includes phones of secondary contacts is UNCONFIRMED; the
# sandbox includes them (`ClientPhoneNumber.contact` exists in the schema for them).
_PHONE_HITS = """
fragment PhoneHits on ClientPhoneNumberConnection {
  nodes {
    number
    normalizedPhoneNumber
    client { id name companyName isArchived updatedAt jobberWebUri emails { address primary } }
  }
  pageInfo { hasNextPage endCursor }
}"""


def find_by_phone_document(spellings: int) -> str:
    """`FindByPhone` with `spellings` aliased `clientPhones` fields: `s0` searches `$t0` from `$a0` for `$f0`
    hits, and so on."""
    names = range(spellings)
    params = ", ".join(f"$t{i}: String!, $f{i}: Int!, $a{i}: String" for i in names)
    fields = "\n".join(
        f"  s{i}: clientPhones(searchTerm: $t{i}, first: $f{i}, after: $a{i}) {{ ...PhoneHits }}"
        for i in names
    )
    return f"query FindByPhone({params}) {{\n{fields}\n}}\n{_PHONE_HITS}"


# The adapter's lookups ask for at most this many spellings (domain.phone.search_spellings gives 4 or 5).
MAX_SPELLINGS = 6
FIND_BY_PHONE = find_by_phone_document(MAX_SPELLINGS)  # the widest form, for the schema tests
CLIENT_CREATE = """
mutation CreateClient($input: ClientCreateInput!) {
  clientCreate(input: $input) { client { id name updatedAt jobberWebUri } userErrors { message path } }
}"""
CLIENT_CREATE_NOTE = """
mutation LogOnClient($clientId: EncodedId!, $message: String!) {
  clientCreateNote(clientId: $clientId, input: { message: $message }) {
    clientNote { id } userErrors { message path }
  }
}"""
CLIENT_EDIT_NOTE = """
mutation EditClientNote($noteId: EncodedId!, $message: String!) {
  clientEditNote(input: { noteId: $noteId, message: $message }) {
    clientNote { id } userErrors { message path }
  }
}"""
CLIENT_ADD_TAGS = """
mutation TagClient($id: EncodedId!, $tags: [String!]!) {
  clientEdit(clientId: $id, input: { tagsToAdd: $tags }) { client { id } userErrors { message path } }
}"""
# `clientId` is a top-level argument of taskCreate, not part of the input (jobber-api.md §6.5). Whether a task
# without `startAt` is allowed is UNCONFIRMED; the action item's task is left unscheduled for the office.
TASK_CREATE = """
mutation NewTask($clientId: EncodedId!, $input: TaskCreateInput!) {
  taskCreate(clientId: $clientId, input: $input) { task { id } userErrors { message path } }
}"""
# Objects created since a moment, to find one whose create was done but whose answer never came
# back (its id was never saved). Filtered on createdAt (RequestFilterAttributes,
# TaskFilterAttributes in jobber-schema-2025-04-16.graphql): `tasks` is sorted by START_AT by
# default, so its first page is not "recent".
REQUESTS_CREATED = """
query RequestsCreated($clientId: EncodedId!, $since: ISO8601DateTime!, $first: Int!, $after: String) {
  requests(filter: { clientId: $clientId, createdAt: { after: $since } }, first: $first, after: $after) {
    nodes { id title }
    pageInfo { hasNextPage endCursor }
  }
}"""
TASKS_CREATED = """
query TasksCreated($since: ISO8601DateTime!, $first: Int!, $after: String) {
  tasks(filter: { createdAt: { after: $since } }, first: $first, after: $after) {
    nodes { id instructions }
    pageInfo { hasNextPage endCursor }
  }
}"""
_SYNC_FIELDS = (
    "id name firstName lastName companyName isCompany isArchived updatedAt "
    "phones { number normalizedPhoneNumber description }"
)
# Contact-sync pages: oldest change first, so a watermark on `updatedAt` can resume (jobber-api.md §5.4).
CLIENTS_CHANGED = f"""
query ClientsChanged($first: Int!, $after: String, $since: ISO8601DateTime!) {{
  clients(first: $first, after: $after, filter: {{ updatedAt: {{ after: $since }} }},
          sort: {{ key: UPDATED_AT, direction: ASCENDING }}) {{
    nodes {{ {_SYNC_FIELDS} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}"""
CLIENT_FOR_SYNC = f"""query ClientForSync($id: EncodedId!) {{ client(id: $id) {{ {_SYNC_FIELDS} }} }}"""
CLIENT_DELETE_NOTE = """
mutation DeleteClientNote($noteId: EncodedId!) {
  clientDeleteNote(input: { noteId: $noteId }) { userErrors { message path } }
}"""
# A client's or request's notes, newest first (`notes` has no createdAt filter; the default order is
# UNCONFIRMED, so it is asked for): where a retry finds the note an interrupted attempt created.
CLIENT_NOTES = """
query ClientNotes($id: EncodedId!, $first: Int!, $after: String) {
  client(id: $id) {
    id
    notes(first: $first, after: $after, sort: [{ key: CREATED_AT, direction: DESCENDING }]) {
      nodes { id message createdAt }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""
REQUEST_CREATE = """
mutation NewRequest($clientId: EncodedId!, $title: String!) {
  requestCreate(input: { clientId: $clientId, title: $title }) { request { id } userErrors { message path } }
}"""
REQUEST_CREATE_NOTE = """
mutation NoteOnRequest($requestId: EncodedId!, $message: String!) {
  requestCreateNote(requestId: $requestId, input: { message: $message }) {
    requestNote { id } userErrors { message path }
  }
}"""
# `requestEditNote(input: RequestEditNoteInput!)` with `noteId` inside the input
# (jobber-schema-2025-04-16.graphql).
REQUEST_EDIT_NOTE = """
mutation EditRequestNote($noteId: EncodedId!, $message: String!) {
  requestEditNote(input: { noteId: $noteId, message: $message }) {
    requestNote { id } userErrors { message path }
  }
}"""
# `Request.notes` is a RequestNoteUnionConnection (ClientNote | RequestNote,
# jobber-schema-2025-04-16.graphql): fields are selected per member. Only the request's own notes are ours;
# client notes linked to requests come back as empty objects and are skipped.
REQUEST_NOTES = """
query RequestNotes($id: EncodedId!, $first: Int!, $after: String) {
  request(id: $id) {
    id
    notes(first: $first, after: $after, sort: [{ key: CREATED_AT, direction: DESCENDING }]) {
      nodes { ... on RequestNote { id message createdAt } }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""
CLIENT_PHONES = """
query ClientPhones($id: EncodedId!) {
  client(id: $id) {
    id isArchived phones(filter: { includeSecondaryContacts: true }) { number normalizedPhoneNumber }
  }
}"""
# Clients created since a moment: where a create whose answer was lost is found again (a listing filtered on
# createdAt, not a search, so it does not wait for the search index; ClientFilterAttributes in the schema).
CLIENTS_CREATED = """
query ClientsCreated($since: ISO8601DateTime!, $first: Int!, $after: String) {
  clients(filter: { createdAt: { after: $since } }, first: $first, after: $after) {
    nodes {
      id name firstName lastName companyName isArchived updatedAt jobberWebUri emails { address primary }
      phones { number normalizedPhoneNumber }
    }
    pageInfo { hasNextPage endCursor }
  }
}"""


# The settings page previews the insight card on a real client: the most recently updated active ones.
RECENT_CLIENTS = """
query RecentClients($first: Int!) {
  clients(first: $first, filter: { isArchived: false }, sort: { key: UPDATED_AT, direction: DESCENDING }) {
    nodes { id }
  }
}"""


def _client_ref(client: dict[str, Any]) -> ClientRef:
    emails = client.get("emails") or []
    primary = next((e for e in emails if e.get("primary")), emails[0] if emails else {})
    return ClientRef(
        id=client["id"],
        name=client.get("name") or "",
        web_uri=client.get("jobberWebUri") or "",
        updated_at=client.get("updatedAt") or "",
        company_name=client.get("companyName") or "",
        email=primary.get("address") or "",
    )


def _phones(client: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(p.get("number") or "", p.get("normalizedPhoneNumber")) for p in client.get("phones") or []]


# Everything a custom insight card can show (SPEC F1). Connections are bounded (`first`) for cost.
CLIENT_CARD = """
query ClientCard($id: EncodedId!) {
  client(id: $id) {
    id name companyName isLead createdAt balance jobberWebUri
    emails { address primary }
    phones { number primary }
    billingAddress { street1 street2 city province postalCode country }
    tags(first: 10) { nodes { label } }
    customFields {
      ... on CustomFieldText { label valueText }
      ... on CustomFieldNumeric { label valueNumeric unit }
      ... on CustomFieldLink { label valueLink { text url } }
      ... on CustomFieldDropdown { label valueDropdown }
      ... on CustomFieldTrueFalse { label valueTrueFalse }
      ... on CustomFieldArea { label valueArea { length width } unit }
    }
    requests(first: 20) { nodes { requestStatus } }
  }
}"""


@dataclass(frozen=True)
class PhoneHit:
    """One `clientPhones` node: the number as entered, its E.164 form (nullable), and its client."""

    number: str
    normalized: str | None
    client: ClientRef
    archived: bool


@dataclass(frozen=True)
class PhoneQuery:
    """One spelling to search for: `first` hits after the cursor `after` (None: from the start)."""

    term: str
    first: int
    after: str | None = None


@dataclass(frozen=True)
class PhonePage:
    hits: list[PhoneHit]
    next_cursor: str | None  # None: this was the last page


def _phone_page(page: dict[str, Any]) -> PhonePage:
    hits = []
    for node in page.get("nodes") or []:
        client = node.get("client") or {}
        if not client.get("id"):
            continue
        hits.append(
            PhoneHit(
                node.get("number") or "",
                node.get("normalizedPhoneNumber"),
                _client_ref(client),
                bool(client.get("isArchived")),
            )
        )
    info = page.get("pageInfo") or {}
    return PhonePage(hits, info.get("endCursor") if info.get("hasNextPage") else None)


@dataclass(frozen=True)
class ClientPhones:
    """A client's phone numbers (its contacts' included): each as entered and its E.164 form (or None)."""

    archived: bool
    phones: list[tuple[str, str | None]]


@dataclass(frozen=True)
class NewClient:
    """A client from the created-since listing."""

    client: ClientRef
    first_name: str
    last_name: str
    archived: bool
    phones: list[tuple[str, str | None]]


class Pacer(Protocol):
    """Client-side pacing on Jobber's query-cost bucket, shared by every worker for one account (Redis)."""

    def wait_for(self, estimated_cost: float) -> float:
        """Seconds until the bucket holds `estimated_cost` points (0: go now)."""

    def observed(self, available: float, maximum: float, restore_rate: float) -> None:
        """The bucket as Jobber's last answer reported it (`extensions.cost.throttleStatus`)."""


# Longer pacing waits park the task (RateLimited) instead of holding a worker thread.
MAX_INLINE_PACING_S = 0.25


class JobberClient:
    def __init__(
        self,
        api_url: str,
        access_token: str,
        *,
        api_version: str,
        timeout: float = 10.0,
        session: Transport | None = None,
        refresh: Callable[[], str] | None = None,
        pacer: Pacer | None = None,
        on_disconnected: Callable[[str], object] | None = None,
    ):
        self.api_url = api_url
        self._refresh = refresh  # called once on HTTP 401: returns a fresh access token
        # Called with the refused access token when Jobber says the app was disconnected,
        # before AppDisconnected is raised: the caller records it (the integration stops),
        # whichever operation learnt it.
        self._on_disconnected = on_disconnected
        self._access_token = access_token
        self.pacer = pacer
        self.timeout = timeout
        self.session = session or shared_session(VENDOR)
        self._headers = {
            "Authorization": f"Bearer {access_token}",
            "Content-Type": "application/json",
            "X-JOBBER-GRAPHQL-VERSION": api_version,
        }
        self.last_throttle: ThrottleStatus | None = None

    def execute(
        self, source: str, variables: dict[str, Any] | None = None, cost: float = 50
    ) -> dict[str, Any]:
        """Run one document; return `data` or raise a `clients.errors` type. `cost` is a rough upper estimate
        used for pacing before the call (Jobber reports the real cost after it)."""
        payload = {"query": document(source), "variables": variables or {}}
        if self.pacer is not None:
            self._pace(self.pacer, cost)
        response = self._post(payload)
        body = json_or_empty(response)
        if response.status_code == 401 and self._refresh is not None and not _app_disconnected(body):
            # An expired token; a disconnected app is not refreshed (its refresh token is dead too).
            self._access_token = self._refresh()
            self._headers["Authorization"] = f"Bearer {self._access_token}"
            self._refresh = None  # once per client: a second 401 is a real auth failure
            response = self._post(payload)
            body = json_or_empty(response)
        self._note_cost(body)
        _note_version(self._headers["X-JOBBER-GRAPHQL-VERSION"], body)
        try:
            _raise_for_transport(response, body)
        except AppDisconnected:
            if self._on_disconnected is not None:
                self._on_disconnected(self._access_token)
            raise
        errors = body.get("errors") or []
        if errors:
            _raise_for_graphql(errors, body)
        data: dict[str, Any] = body.get("data") or {}
        return data

    def _post(self, payload: dict[str, Any]) -> Reply:
        return send(
            self.session, VENDOR, "POST", self.api_url, self.timeout, json=payload, headers=self._headers
        )

    def mutate(self, source: str, variables: dict[str, Any], field: str) -> dict[str, Any]:
        """Run a mutation and return its payload object; non-empty `userErrors` → Permanent."""
        result: dict[str, Any] = self.execute(source, variables, cost=20).get(field) or {}
        user_errors = result.get("userErrors") or []
        if user_errors:
            text = "; ".join(f"{'.'.join(e.get('path') or [])}: {e.get('message')}" for e in user_errors)
            raise Permanent(f"jobber {field}: {text}", vendor=VENDOR)
        return result

    # ---- operations --------------------------------------------------------------------------

    def account(self) -> Account:
        data = self.execute(ACCOUNT)["account"]
        return Account(id=str(data["id"]), name=str(data.get("name") or ""))

    def app_disconnect(self) -> None:
        self.mutate(APP_DISCONNECT, {}, "appDisconnect")

    def find_phones(self, queries: Sequence[PhoneQuery]) -> list[PhonePage]:
        """One request: a page of phone numbers the search matches for each query's term, with their clients,
        and the cursor of each next page (None on the last). What the search matches is Jobber's business:
        callers decide."""
        if not 0 < len(queries) <= MAX_SPELLINGS:
            raise ValueError(f"between 1 and {MAX_SPELLINGS} phone queries per request")
        variables: dict[str, Any] = {}
        for i, query in enumerate(queries):
            variables |= {f"t{i}": query.term, f"f{i}": query.first, f"a{i}": query.after}
        # Per hit: 12 fields (number, normalizedPhoneNumber, client and its 9); per field: itself + pageInfo.
        cost = sum(q.first * 12 + 4 for q in queries)
        data = self.execute(find_by_phone_document(len(queries)), variables, cost=cost)
        return [_phone_page(data.get(f"s{i}") or {}) for i in range(len(queries))]

    def create_client(self, first_name: str, last_name: str, phone_e164: str) -> ClientRef:
        phone = {"number": phone_e164, "description": "MAIN", "primary": True}
        payload = self.mutate(
            CLIENT_CREATE,
            {"input": {"firstName": first_name, "lastName": last_name, "phones": [phone]}},
            "clientCreate",
        )
        client = payload.get("client") or {}
        return _client_ref(client)

    def client_phones(self, client_id: str) -> ClientPhones | None:
        """The client's and its contacts' phones; None when the client is gone."""
        client = self.execute(CLIENT_PHONES, {"id": client_id}, cost=30).get("client")
        if not client:
            return None
        return ClientPhones(bool(client.get("isArchived")), _phones(client))

    def clients_created_since(self, since: str) -> list[NewClient]:
        """The account's clients created after `since` (ISO 8601), with their phones."""
        nodes = self._every_page(CLIENTS_CREATED, {"since": since}, "clients", 17)
        return [
            NewClient(
                _client_ref(node),
                node.get("firstName") or "",
                node.get("lastName") or "",
                bool(node.get("isArchived")),
                _phones(node),
            )
            for node in nodes
            if node.get("id")
        ]

    def client_card(self, client_id: str) -> dict[str, Any]:
        """The client's fields a custom insight card can show; {} when the client is gone."""
        client: dict[str, Any] = self.execute(CLIENT_CARD, {"id": client_id}, cost=120).get("client") or {}
        return client

    def recent_client_ids(self, first: int = 5) -> list[str]:
        """Ids of the account's most recently updated active clients (newest first)."""
        found = self.execute(RECENT_CLIENTS, {"first": first}, cost=first + 2).get("clients") or {}
        return [str(n["id"]) for n in found.get("nodes") or [] if n.get("id")]

    def create_client_note(self, client_id: str, message: str) -> str:
        return str(
            self.mutate(CLIENT_CREATE_NOTE, {"clientId": client_id, "message": message}, "clientCreateNote")[
                "clientNote"
            ]["id"]
        )

    def edit_client_note(self, note_id: str, message: str) -> None:
        self.mutate(CLIENT_EDIT_NOTE, {"noteId": note_id, "message": message}, "clientEditNote")

    def add_tags(self, client_id: str, labels: list[str]) -> None:
        """Tags by label; adding an existing tag changes nothing."""
        self.mutate(CLIENT_ADD_TAGS, {"id": client_id, "tags": labels}, "clientEdit")

    def create_task(self, client_id: str, title: str, instructions: str) -> str:
        payload = self.mutate(
            TASK_CREATE,
            {"clientId": client_id, "input": {"title": title, "instructions": instructions}},
            "taskCreate",
        )
        return str(payload["task"]["id"])

    def requests_created_since(self, client_id: str, since: str) -> list[dict[str, Any]]:
        """`{id, title}` of the client's requests created after `since` (ISO 8601)."""
        return self._every_page(REQUESTS_CREATED, {"clientId": client_id, "since": since}, "requests", 3)

    def tasks_created_since(self, since: str) -> list[dict[str, Any]]:
        """`{id, instructions}` of the account's tasks created after `since` (ISO 8601)."""
        return self._every_page(TASKS_CREATED, {"since": since}, "tasks", 3)

    def _every_page(
        self,
        source: str,
        variables: dict[str, Any],
        field: str,
        node_cost: int,
        first: int = 50,
        pages: int = 10,
    ) -> list[dict[str, Any]]:
        """The nodes of a connection, page by page (at most `pages` pages)."""
        nodes: list[dict[str, Any]] = []
        after: str | None = None
        for _ in range(pages):
            variables = {**variables, "first": first, "after": after}
            page = self.execute(source, variables, cost=first * node_cost + 4).get(field) or {}
            nodes += page.get("nodes") or []
            info = page.get("pageInfo") or {}
            after = info.get("endCursor") if info.get("hasNextPage") else None
            if after is None:
                break
        return nodes

    def clients_changed(
        self, since: str, after: str | None, first: int = 50
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of clients updated after `since`, oldest first; returns (clients, cursor of
        the next page)."""
        page = (
            self.execute(
                CLIENTS_CHANGED, {"first": first, "after": after, "since": since}, cost=first * 12
            ).get("clients")
            or {}
        )
        info = page.get("pageInfo") or {}
        return list(page.get("nodes") or []), (info.get("endCursor") if info.get("hasNextPage") else None)

    def client_for_sync(self, client_id: str) -> dict[str, Any] | None:
        client: dict[str, Any] | None = self.execute(CLIENT_FOR_SYNC, {"id": client_id}, cost=15).get(
            "client"
        )
        return client

    def delete_client_note(self, note_id: str) -> None:
        self.mutate(CLIENT_DELETE_NOTE, {"noteId": note_id}, "clientDeleteNote")

    def client_notes_since(self, client_id: str, since: str) -> list[tuple[str, str]]:
        """`(id, message)` of the client's notes created at or after `since` (ISO 8601), newest first."""
        return self._notes_since(CLIENT_NOTES, client_id, "client", since)

    def create_request(self, client_id: str, title: str) -> str:
        return str(
            self.mutate(REQUEST_CREATE, {"clientId": client_id, "title": title}, "requestCreate")["request"][
                "id"
            ]
        )

    def create_request_note(self, request_id: str, message: str) -> str:
        return str(
            self.mutate(
                REQUEST_CREATE_NOTE, {"requestId": request_id, "message": message}, "requestCreateNote"
            )["requestNote"]["id"]
        )

    def edit_request_note(self, note_id: str, message: str) -> None:
        self.mutate(REQUEST_EDIT_NOTE, {"noteId": note_id, "message": message}, "requestEditNote")

    def request_notes_since(self, request_id: str, since: str) -> list[tuple[str, str]]:
        """`(id, message)` of the request's own notes created at or after `since` (ISO 8601), newest first."""
        return self._notes_since(REQUEST_NOTES, request_id, "request", since)

    def _notes_since(
        self, source: str, parent_id: str, field: str, since: str, first: int = 20, pages: int = 10
    ) -> list[tuple[str, str]]:
        """Pages of notes, newest first, until one older than `since` (a note without a
        readable time is kept)."""
        bound = _parse_time(since)
        found: list[tuple[str, str]] = []
        after: str | None = None
        for _ in range(pages):
            variables = {"id": parent_id, "first": first, "after": after}
            parent = self.execute(source, variables, cost=first * 2 + 4).get(field) or {}
            page = parent.get("notes") or {}
            for node in page.get("nodes") or []:
                created = _parse_time(node.get("createdAt"))
                if bound is not None and created is not None and created < bound:
                    return found  # newest first: every later note is older still
                if node.get("id"):
                    found.append((str(node["id"]), node.get("message") or ""))
            info = page.get("pageInfo") or {}
            after = info.get("endCursor") if info.get("hasNextPage") else None
            if after is None:
                break
        return found

    # ---- cost pacing ---------------------------------------------------------------------

    @staticmethod
    def _pace(pacer: Pacer, cost: float) -> None:
        # Bounded: a restoreRate misread as tiny must not park the task for hours (a full
        # bucket refills in 20 s).
        wait = min(JOBBER_MAX_THROTTLE_WAIT_S, pacer.wait_for(cost))
        if wait > MAX_INLINE_PACING_S:
            raise RateLimited("jobber: cost bucket low", retry_after=wait, vendor=VENDOR)
        if wait > 0:
            time.sleep(wait)

    def _note_cost(self, body: Any) -> None:
        cost = ((body or {}).get("extensions") or {}).get("cost") if isinstance(body, dict) else None
        status = (cost or {}).get("throttleStatus")
        if status:
            self.last_throttle = ThrottleStatus(
                maximum=float(status.get("maximumAvailable", 10000)),
                available=float(status.get("currentlyAvailable", 0)),
                restore_rate=float(status.get("restoreRate", 500)) or 500.0,
            )
            if self.pacer is not None:
                throttle = self.last_throttle
                self.pacer.observed(throttle.available, throttle.maximum, throttle.restore_rate)


def _plain_message(body: Any) -> str:
    """The text of Jobber's plain-JSON (non-GraphQL) error bodies: `{"message"}` or
    `{"error": {"message"}}`."""
    if not isinstance(body, dict):
        return ""
    err = body.get("error")
    return str(body.get("message") or (err.get("message") if isinstance(err, dict) else err) or "")


def _app_disconnected(body: Any) -> bool:
    return "disconnected this app" in _plain_message(body).lower()


def _raise_for_transport(response: Reply, body: Any) -> None:
    status = response.status_code
    message = _plain_message(body)
    lowered = message.lower()
    if _app_disconnected(body):
        raise AppDisconnected(f"jobber: {message}", vendor=VENDOR, status=status)
    if "not active" in lowered:
        raise Disconnected(f"jobber: {message}", vendor=VENDOR, status=status)
    if "temporarily unavailable" in lowered:
        raise Transient(f"jobber: {message}", vendor=VENDOR, status=status)
    if status == 429:
        wait = too_many_requests_wait(response)
        raise RateLimited("jobber: HTTP 429 (request limit)", retry_after=wait, vendor=VENDOR, status=status)
    if status == 401:
        raise Unauthorized(f"jobber: HTTP 401 {message or response.reason}", vendor=VENDOR, status=status)
    if status >= 500:
        raise Transient(f"jobber: HTTP {status}", vendor=VENDOR, status=status)
    if status >= 400:
        raise Permanent(f"jobber: HTTP {status} {message}", vendor=VENDOR, status=status)
    if not isinstance(body, dict) or ("data" not in body and "errors" not in body):
        raise Transient(f"jobber: HTTP {status} without a GraphQL result", vendor=VENDOR, status=status)


def _raise_for_graphql(errors: list[dict[str, Any]], body: dict[str, Any]) -> None:
    codes = {((e.get("extensions") or {}).get("code")) for e in errors}
    if "THROTTLED" in codes:
        raise RateLimited("jobber: THROTTLED", retry_after=throttle_wait(body), vendor=VENDOR)
    text = "; ".join(str(e.get("message")) for e in errors)
    raise Permanent(f"jobber: {text}", vendor=VENDOR)


def throttle_wait(body: dict[str, Any]) -> float:
    """Seconds until the cost bucket holds the requested cost: (requested - available) / restoreRate, bounded
    by JOBBER_MAX_THROTTLE_WAIT_S (a full bucket refills in 20 s at the documented rate)."""
    cost = (body.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    requested = float(cost.get("requestedQueryCost") or 0)
    available = float(status.get("currentlyAvailable") or 0)
    rate = float(status.get("restoreRate") or 500) or 500.0
    return bounded(math.ceil(max(0.0, requested - available) / rate), JOBBER_MAX_THROTTLE_WAIT_S)


def too_many_requests_wait(response: Reply, now: float | None = None) -> float:
    """HTTP 429 from the request limiter: Retry-After (seconds or an HTTP-date; UNCONFIRMED that Jobber sends
    it), else 30 s; never more than the limiter's 5-minute window."""
    wait = retry_after_wait(response.headers.get("Retry-After"), time.time() if now is None else now)
    return bounded(DEFAULT_429_WAIT_S if wait is None else wait, JOBBER_MAX_WAIT_S)


def _parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time from Jobber (`…Z` or with an offset), aware; None when absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
