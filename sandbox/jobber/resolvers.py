"""Query resolvers and object-field resolvers (everything that is not a plain attribute read).

Search semantics (all UNCONFIRMED, reference §5.3):
- Phone matching: one of the readings in phone_search.py (`POST /_sandbox/phone_search`), "digits" by default.
- Text matching (names, emails, notes, custom fields, address): case-insensitive; every whitespace-separated
  word of the term must occur in the searched text.
- `clientPhones` includes phones of secondary contacts; sort: client updatedAt desc.
- `clients` without `sort` is ordered by updatedAt descending ("100 recently updated clients").
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from graphql import GraphQLResolveInfo

from . import ids
from .connections import connection
from .context import AppInfo, Ctx
from .phone_search import PhoneSearch
from .state import Client, CustomFieldValue, EmailRec, Note, Phone, Request, Task, User

Resolver = Callable[..., Any]


def _ctx(info: GraphQLResolveInfo) -> Ctx:
    return info.context  # type: ignore[no-any-return]


def _num(encoded: str) -> int:
    return ids.decode(encoded)[1]


def _in_account(ctx: Ctx, obj: Any) -> bool:
    return obj is not None and getattr(obj, "account_id", None) == ctx.account.id


def _words_match(term: str, haystack: Iterable[str | None]) -> bool:
    text = " ".join(h for h in haystack if h).lower()
    words = term.lower().split()
    return bool(words) and all(w in text for w in words)


def phone_matches(phone: Phone, term: str, search: PhoneSearch) -> bool:
    if phone.searchable_at > time.time():
        return False  # not indexed yet
    return search.matches(phone.number, phone.normalized_phone_number, term)


def normalized_phone(phone: Phone, info: GraphQLResolveInfo) -> str | None:
    return _ctx(info).phone_search.shown(phone.normalized_phone_number)


def _in_range(value: datetime, rng: dict[str, Any] | None) -> bool:
    if not rng:
        return True
    if rng.get("eq") is not None:
        return int(value.timestamp()) == int(rng["eq"].timestamp())
    if rng.get("after") is not None and not value > rng["after"]:
        return False
    return not (rng.get("before") is not None and not value < rng["before"])


# ----- Query ------------------------------------------------------------------------------------------------


def q_account(_: Any, info: GraphQLResolveInfo) -> Any:
    return _ctx(info).account


def q_user(_: Any, info: GraphQLResolveInfo, id: str | None = None) -> Any:
    ctx = _ctx(info)
    user = ctx.store.users.get(id or ctx.user_id)
    return user if _in_account(ctx, user) else None


def q_client(_: Any, info: GraphQLResolveInfo, id: str) -> Any:
    ctx = _ctx(info)
    client = ctx.store.clients.get(id)
    # Not found, deleted, or another account's: null, not an error (reference §1.3).
    return client if _in_account(ctx, client) else None


def _client_matches(client: Client, term: str, fields: set[str], search: PhoneSearch) -> bool:
    store_fields = fields or {
        "NAMES",
        "EMAILS",
        "PRIMARY_EMAIL",
        "PHONES",
        "NOTES",
        "CUSTOM_FIELDS",
        "PROPERTIES",
    }
    if "PHONES" in store_fields and any(phone_matches(p, term, search) for p in client.all_phones()):
        return True
    if "NAMES" in store_fields and _words_match(
        term, [client.first_name, client.last_name, client.company_name] + [c.name for c in client.contacts]
    ):
        return True
    if "EMAILS" in store_fields and _words_match(term, [e.address for e in client.all_emails()]):
        return True
    if "PRIMARY_EMAIL" in store_fields and _words_match(
        term, [e.address for e in client.emails if e.primary]
    ):
        return True
    if "NOTES" in store_fields and _words_match(term, [n.message for n in client.notes]):
        return True
    if "CUSTOM_FIELDS" in store_fields and _words_match(
        term,
        [
            str(cf.value.get("text", "") if isinstance(cf.value, dict) else cf.value)
            for cf in client.custom_fields
        ],
    ):
        return True
    addr = client.billing_address or {}
    return "PROPERTIES" in store_fields and _words_match(term, [str(v) for v in addr.values() if v])


_SORT_KEYS: dict[str, Callable[[Client], Any]] = {
    "FIRST_NAME": lambda c: c.first_name.lower(),
    "LAST_NAME": lambda c: c.last_name.lower(),
    "PRIMARY_NAME": lambda c: c.name.lower(),
    "UPDATED_AT": lambda c: c.updated_at,
}


def q_clients(_: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    ctx = _ctx(info)
    found = list(ctx.account.clients.values())
    flt = args.get("filter") or {}
    for key, attr in (("isCompany", "is_company"), ("isLead", "is_lead"), ("isArchived", "is_archived")):
        if flt.get(key) is not None:
            found = [c for c in found if getattr(c, attr) == flt[key]]
    if flt.get("tags"):
        wanted = {t.lower() for t in flt["tags"]}
        found = [c for c in found if wanted & {t.label.lower() for t in c.tags}]
    found = [c for c in found if _in_range(c.updated_at, flt.get("updatedAt"))]
    found = [c for c in found if _in_range(c.created_at, flt.get("createdAt"))]
    term = (args.get("searchTerm") or "").strip()
    if term:
        fields = set(args.get("searchFields") or [])
        found = [c for c in found if _client_matches(c, term, fields, ctx.phone_search)]
    sort = args.get("sort") or {"key": "UPDATED_AT", "direction": "DESCENDING"}
    key = _SORT_KEYS[sort["key"]]
    found.sort(key=lambda c: _num(c.id))
    found.sort(key=key, reverse=sort["direction"] == "DESCENDING")
    return connection(found, args)


def _recent_first(ctx: Ctx, phones_or_emails: list[Any]) -> list[Any]:
    clients = ctx.store.clients
    return sorted(phones_or_emails, key=lambda p: (clients[p.client_id].updated_at, _num(p.id)), reverse=True)


def q_client_phones(_: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    ctx = _ctx(info)
    phones = [p for c in ctx.account.clients.values() for p in c.all_phones()]
    term = (args.get("searchTerm") or "").strip()
    if term:
        phones = [p for p in phones if phone_matches(p, term, ctx.phone_search)]
    flt = args.get("filter") or {}
    if flt.get("smsAllowed") is not None:
        phones = [p for p in phones if p.sms_allowed == flt["smsAllowed"]]
    if flt.get("isValidSmsPhoneNumber") is not None:
        phones = [
            p for p in phones if (p.normalized_phone_number is not None) == flt["isValidSmsPhoneNumber"]
        ]
    return connection(_recent_first(ctx, phones), args)


def q_client_emails(_: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    ctx = _ctx(info)
    emails = _recent_first(ctx, [e for c in ctx.account.clients.values() for e in c.all_emails()])
    term = (args.get("searchTerm") or "").strip().lower()
    if term:
        emails = [e for e in emails if term in e.address.lower()]
        emails.sort(key=lambda e: e.address.lower() != term)  # "most plausible match": exact first (stable)
    return connection(emails, args)


def _account_requests(ctx: Ctx) -> list[Request]:
    return [r for r in ctx.store.requests.values() if r.account_id == ctx.account.id]


def q_request(_: Any, info: GraphQLResolveInfo, id: str) -> Any:
    ctx = _ctx(info)
    request = ctx.store.requests.get(id)
    return request if _in_account(ctx, request) else None


def q_requests(_: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    ctx = _ctx(info)
    found = _account_requests(ctx)
    flt = args.get("filter") or {}
    if flt.get("clientId"):
        found = [r for r in found if r.client_id == flt["clientId"]]
    if flt.get("status"):
        found = [r for r in found if r.request_status == flt["status"]]
    found = [r for r in found if _in_range(r.created_at, flt.get("createdAt"))]
    found = [r for r in found if _in_range(r.updated_at, flt.get("updatedAt"))]
    term = (args.get("searchTerm") or "").strip()
    if term:
        found = [r for r in found if _words_match(term, [r.title, ctx.store.clients[r.client_id].name])]
    # "100 recently updated work requests" by default; REQUESTED_AT is the creation time, TITLE the title.
    found.sort(key=lambda r: (r.updated_at, _num(r.id)), reverse=True)
    for sort in reversed(args.get("sort") or []):
        key = _REQUEST_SORT.get(sort["key"], lambda r: r.created_at)
        found.sort(key=key, reverse=sort["direction"] == "DESCENDING")
    return connection(found, args)


_REQUEST_SORT: dict[str, Callable[[Request], Any]] = {
    "TITLE": lambda r: (r.title or "").lower(),
    "REQUESTED_AT": lambda r: (r.created_at, _num(r.id)),
    "STATUS": lambda r: r.request_status,
}


def q_task(_: Any, info: GraphQLResolveInfo, id: str) -> Any:
    ctx = _ctx(info)
    task = ctx.store.tasks.get(id)
    return task if _in_account(ctx, task) else None


def q_tasks(_: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    tasks = list(_ctx(info).account.tasks)
    flt = args.get("filter") or {}
    tasks = [t for t in tasks if _in_range(t.created_at, flt.get("createdAt"))]
    for key, attr in (("startAt", "start_at"), ("endAt", "end_at")):
        if flt.get(key):
            tasks = [
                t for t in tasks if getattr(t, attr) is not None and _in_range(getattr(t, attr), flt[key])
            ]
    if flt.get("assignedTo"):
        tasks = [t for t in tasks if flt["assignedTo"] in t.assigned_to]
    if flt.get("ids") is not None:
        tasks = [t for t in tasks if t.id in set(flt["ids"])]
    # "Default sorting order is on START_AT, by ASCENDING" (the schema's own description). Where tasks without
    # a start land is UNCONFIRMED: after the scheduled ones here, oldest first.
    descending = any(s["direction"] == "DESCENDING" for s in args.get("sort") or [])
    scheduled = sorted(
        (t for t in tasks if t.start_at), key=lambda t: (t.start_at, _num(t.id)), reverse=descending
    )
    unscheduled = sorted((t for t in tasks if not t.start_at), key=lambda t: _num(t.id))
    return connection(scheduled + unscheduled, args)


def q_cf_configurations(_: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    ctx = _ctx(info)
    configs = list(ctx.account.custom_field_configs)
    flt = args.get("filter") or {}
    if flt.get("createdByThisApp") is not None:
        configs = [c for c in configs if (c.app_id == ctx.app.app_id) == flt["createdByThisApp"]]
    if flt.get("appliesTo"):
        configs = [c for c in configs if c.applies_to == flt["appliesTo"]]
    if flt.get("valueType"):
        configs = [c for c in configs if cf_value_type(c, info) == flt["valueType"]]
    for sort in args.get("sort") or []:  # SORT_ORDER and CREATED_AT are both the creation order here
        configs.sort(key=lambda c: (c.created_at, _num(c.id)), reverse=sort["direction"] == "DESCENDING")
    return connection(configs, args)


# ----- object fields ----------------------------------------------------------------------------------------


def client_phones(client: Client, info: GraphQLResolveInfo, filter: dict[str, Any] | None = None) -> Any:
    # Secondary-contact phones are excluded unless asked for (reference §5.3). A plain list, not a connection.
    if filter and filter.get("includeSecondaryContacts"):
        return client.all_phones()
    return client.phones


def client_emails(client: Client, info: GraphQLResolveInfo, filter: dict[str, Any] | None = None) -> Any:
    if filter and filter.get("includeSecondaryContacts"):
        return client.all_emails()
    return client.emails


def client_phone(client: Client, info: GraphQLResolveInfo) -> Any:
    primary = [p for p in client.phones if p.primary] or client.phones
    return primary[0].number if primary else None


_ADDRESS_FIELDS = ("street1", "street2", "city", "province", "postalCode", "country", "latitude", "longitude")


def client_billing_address(client: Client, info: GraphQLResolveInfo) -> Any:
    # Every ClientAddress field but `name` is a non-null String in the real schema: unknown parts are "".
    if not client.billing_address:
        return None
    given = client.billing_address
    addr = {key: str(given.get(key) or "") for key in _ADDRESS_FIELDS}
    addr["street"] = " ".join(x for x in (addr["street1"], addr["street2"]) if x)
    return addr


def client_email(client: Client, info: GraphQLResolveInfo) -> Any:
    primary = [e for e in client.emails if e.primary] or client.emails
    return primary[0].address if primary else None


def client_secondary_name(client: Client, info: GraphQLResolveInfo) -> Any:
    full = f"{client.first_name} {client.last_name}".strip()
    if client.is_company:
        return full or None
    return client.company_name


def _notes_connection(notes: list[Note], info: GraphQLResolveInfo, args: dict[str, Any]) -> Any:
    """`sort: [{key: CREATED_AT, direction}]` orders by creation; without it the order is the sandbox's
    reading of Jobber's unconfirmed default (`notes_default_order`). `filter: {ids}` narrows
    to those notes."""
    wanted = (args.get("filter") or {}).get("ids")
    if wanted is not None:
        notes = [n for n in notes if n.id in set(wanted)]
    sort = args.get("sort") or []
    if sort:
        newest_first = sort[0]["direction"] == "DESCENDING"
    else:
        newest_first = _ctx(info).notes_default_order == "newest"
    return connection(sorted(notes, key=lambda n: (n.created_at, _num(n.id)), reverse=newest_first), args)


def client_notes(client: Client, info: GraphQLResolveInfo, **args: Any) -> Any:
    return _notes_connection(client.notes, info, args)


def request_notes(request: Request, info: GraphQLResolveInfo, **args: Any) -> Any:
    """RequestNoteUnion: the request's own notes, and the client's notes linked to requests."""
    client = _ctx(info).store.clients.get(request.client_id)
    linked = [n for n in client.notes if n.linked_to.get("requests")] if client else []
    return _notes_connection([*request.notes, *linked], info, args)


def client_requests(client: Client, info: GraphQLResolveInfo, **args: Any) -> Any:
    store = _ctx(info).store
    reqs = [store.requests[r] for r in client.request_ids]
    return connection(sorted(reqs, key=lambda r: (r.created_at, _num(r.id)), reverse=True), args)


def web_uri(kind: str) -> Resolver:
    # UNCONFIRMED format (reference §6.1 calls "https://secure.getjobber.com/clients/98765" illustrative).
    def resolve(obj: Any, info: GraphQLResolveInfo) -> str:
        return f"{_ctx(info).web_base}/{kind}/{_num(obj.id)}"

    return resolve


def list_connection(attr: str) -> Resolver:
    def resolve(obj: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        return connection(getattr(obj, attr), args)

    return resolve


def owner_client(obj: Phone | EmailRec | Task | Request, info: GraphQLResolveInfo) -> Any:
    return _ctx(info).store.clients.get(obj.client_id) if obj.client_id else None


def friendly(phone: Phone, info: GraphQLResolveInfo) -> str:
    from .state import friendly_phone

    return friendly_phone(phone.number)


def note_author(note: Note, info: GraphQLResolveInfo) -> Any:
    kind, ref_id = note.created_by
    ctx = _ctx(info)
    if kind == "Application":
        return ctx.app
    return (ctx.store.users if kind == "User" else ctx.store.clients).get(ref_id)


def note_editor(note: Note, info: GraphQLResolveInfo) -> Any:
    # `lastEditedBy` is a User in the real schema: an edit by the app (or a client) shows no user.
    if note.last_edited_by is None or note.last_edited_by[0] != "User":
        return None
    return _ctx(info).store.users.get(note.last_edited_by[1])


def note_linked_to(note: Note, info: GraphQLResolveInfo) -> Any:
    return {key: bool(note.linked_to.get(key)) for key in ("invoices", "jobs", "quotes", "requests")}


def request_contact_name(request: Request, info: GraphQLResolveInfo) -> Any:
    client = _ctx(info).store.clients.get(request.client_id)
    return client.name if client else None


def request_company_name(request: Request, info: GraphQLResolveInfo) -> Any:
    client = _ctx(info).store.clients.get(request.client_id)
    return client.company_name if client else None


def request_email(request: Request, info: GraphQLResolveInfo) -> Any:
    client = _ctx(info).store.clients.get(request.client_id)
    if not client or not client.emails:
        return None
    return ([e for e in client.emails if e.primary] or client.emails)[0].address


def request_phone(request: Request, info: GraphQLResolveInfo) -> Any:
    client = _ctx(info).store.clients.get(request.client_id)
    return client_phone(client, info) if client else None


def task_assigned_users(task: Task, info: GraphQLResolveInfo, **args: Any) -> Any:
    users = _ctx(info).store.users
    return connection([users[u] for u in task.assigned_to if u in users], args)


def user_name(user: User, info: GraphQLResolveInfo) -> Any:
    return {"first": user.first_name, "last": user.last_name, "full": user.full_name}


def user_is_current(user: User, info: GraphQLResolveInfo) -> Any:
    return user.id == _ctx(info).user_id


def user_email(user: User, info: GraphQLResolveInfo) -> Any:
    return {"raw": user.email, "isValid": bool(re.match(r"[^@\s]+@[^@\s]+\.[^@\s]+$", user.email))}


def user_account(user: User, info: GraphQLResolveInfo) -> Any:
    return _ctx(info).store.accounts.get(user.account_id)


def cf_label(cf: CustomFieldValue, info: GraphQLResolveInfo) -> Any:
    return _ctx(info).store.cf_configs[cf.config_id].name


def cf_config(cf: CustomFieldValue, info: GraphQLResolveInfo) -> Any:
    return _ctx(info).store.cf_configs[cf.config_id]


def cf_unit(cf: Any, info: GraphQLResolveInfo) -> Any:
    config = _ctx(info).store.cf_configs[cf.config_id] if isinstance(cf, CustomFieldValue) else cf
    return config.unit


def cf_value(cf: CustomFieldValue, info: GraphQLResolveInfo) -> Any:
    return cf.value


def cf_dropdown_options(cf: CustomFieldValue, info: GraphQLResolveInfo) -> Any:
    return _ctx(info).store.cf_configs[cf.config_id].dropdown_options


_VALUE_TYPES = {
    "text": "TEXT",
    "link": "LINK",
    "area": "AREA",
    "true_false": "TRUE_FALSE",
    "numeric": "NUMERIC",
    "dropdown": "DROPDOWN",
}


def cf_value_type(config: Any, info: GraphQLResolveInfo) -> Any:
    return _VALUE_TYPES[config.value_type]


def client_custom_fields(client: Client, info: GraphQLResolveInfo) -> Any:
    configs = _ctx(info).store.cf_configs
    return [cf for cf in client.custom_fields if not configs[cf.config_id].archived]


def app_field(name: str) -> Resolver:
    def resolve(app: AppInfo, info: GraphQLResolveInfo) -> Any:
        return getattr(app, name)

    return resolve


QUERY: dict[str, Resolver] = {
    "account": q_account,
    "user": q_user,
    "client": q_client,
    "clients": q_clients,
    "clientPhones": q_client_phones,
    "clientEmails": q_client_emails,
    "request": q_request,
    "requests": q_requests,
    "task": q_task,
    "tasks": q_tasks,
    "customFieldConfigurations": q_cf_configurations,
}

_CF_TYPES = [
    "CustomFieldText",
    "CustomFieldLink",
    "CustomFieldNumeric",
    "CustomFieldDropdown",
    "CustomFieldTrueFalse",
    "CustomFieldArea",
]
_CF_CONFIG_SUFFIXES = ("Text", "Link", "Numeric", "Dropdown", "TrueFalse", "Area")
_VALUE_FIELD = {
    "CustomFieldText": "valueText",
    "CustomFieldLink": "valueLink",
    "CustomFieldNumeric": "valueNumeric",
    "CustomFieldDropdown": "valueDropdown",
    "CustomFieldTrueFalse": "valueTrueFalse",
    "CustomFieldArea": "valueArea",
}

FIELDS: dict[str, dict[str, Resolver]] = {
    "Client": {
        "phones": client_phones,
        "emails": client_emails,
        "email": client_email,
        "phone": client_phone,
        "billingAddress": client_billing_address,
        "secondaryName": client_secondary_name,
        "isArchivable": lambda c, info: not c.is_archived,
        "leadSource": lambda c, info: c.source,
        "tags": list_connection("tags"),
        "customFields": client_custom_fields,
        "notes": client_notes,
        "requests": client_requests,
        "jobberWebUri": web_uri("clients"),
    },
    "ClientPhoneNumber": {
        "client": owner_client,
        "friendly": friendly,
        "normalizedPhoneNumber": normalized_phone,
    },
    "Email": {"client": owner_client},
    "ClientNote": {"createdBy": note_author, "lastEditedBy": note_editor, "linkedTo": note_linked_to},
    "RequestNote": {"createdBy": note_author, "lastEditedBy": note_editor, "linkedTo": note_linked_to},
    "Request": {
        "client": owner_client,
        "notes": request_notes,
        "jobberWebUri": web_uri("requests"),
        "contactName": request_contact_name,
        "companyName": request_company_name,
        "email": request_email,
        "phone": request_phone,
    },
    "Task": {"client": owner_client, "assignedUsers": task_assigned_users},
    "User": {
        "name": user_name,
        "email": user_email,
        "account": user_account,
        "isCurrentUser": user_is_current,
    },
    "Application": {"id": app_field("id"), "name": app_field("name"), "author": app_field("author")},
    **{
        t: {"label": cf_label, "customFieldConfiguration": cf_config, _VALUE_FIELD[t]: cf_value}
        for t in _CF_TYPES
    },
    **{f"CustomFieldConfiguration{suffix}": {"valueType": cf_value_type} for suffix in _CF_CONFIG_SUFFIXES},
}
FIELDS["CustomFieldNumeric"]["unit"] = cf_unit
FIELDS["CustomFieldArea"]["unit"] = cf_unit
FIELDS["CustomFieldDropdown"]["dropdownOptions"] = cf_dropdown_options
# A text configuration's default is a non-null String in the real schema: "" when none was given.
FIELDS["CustomFieldConfigurationText"]["defaultValue"] = lambda c, info: c.default_value or ""
