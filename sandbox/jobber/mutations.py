"""Mutation resolvers. Invalid input never raises: the payload's object is null and `userErrors` says why
(HTTP 200, reference §1.3). Exact userError messages and paths are UNCONFIRMED (the reference only fixes the
`{message, path}` shape)."""

from __future__ import annotations

import time
from typing import Any

from graphql import GraphQLResolveInfo

from .context import Ctx
from .state import Client, Note, Request, Store, _label, utcnow

_VALUE_KEYS = {
    "text": "valueText",
    "numeric": "valueNumeric",
    "link": "valueLink",
    "dropdown": "valueDropdown",
    "true_false": "valueTrueFalse",
    "area": "valueArea",
}


def _ctx(info: GraphQLResolveInfo) -> Ctx:
    return info.context  # type: ignore[no-any-return]


def _err(message: str, *path: str) -> dict[str, Any]:
    return {"message": message, "path": list(path)}


def _fail(obj_field: str, *errors: dict[str, Any]) -> dict[str, Any]:
    return {obj_field: None, "userErrors": list(errors)}


def _find_client(ctx: Ctx, client_id: str | None) -> Client | None:
    client = ctx.store.clients.get(client_id or "")
    return client if client and client.account_id == ctx.account.id else None


def _author(ctx: Ctx) -> tuple[str, str]:
    # Notes created through the API show the app as author (createdBy is an Application, reference §6.3).
    return ("Application", ctx.app.id)


def _attachments(store: Store, items: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    out = []
    for item in items or []:
        url = item.get("url") or ""
        out.append(
            {
                "id": store.new_id("NoteFile"),
                "url": url,
                "fileName": url.rsplit("/", 1)[-1] or "file",
                "contentType": None,
            }
        )
    return out


def _custom_field_errors(ctx: Ctx, client: Client, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validate then apply custom field values: exactly one value, matching the configuration type (§6.2)."""
    errors: list[dict[str, Any]] = []
    planned = []
    for i, cf in enumerate(inputs):
        config_id = cf.get("customFieldConfigurationId")
        if not config_id and cf.get("id") in ctx.store.cf_values:
            config_id = ctx.store.cf_values[cf["id"]].config_id
        config = ctx.store.cf_configs.get(config_id or "")
        if config is None or config.account_id != ctx.account.id:
            errors.append(_err("Custom field configuration not found", "customFields", str(i)))
            continue
        given = [k for k in _VALUE_KEYS.values() if cf.get(k) is not None]
        if given != [_VALUE_KEYS[config.value_type]]:
            errors.append(
                _err(
                    f"Provide exactly one value, {_VALUE_KEYS[config.value_type]}, for "
                    f"custom field '{config.name}'",
                    "customFields",
                    str(i),
                )
            )
            continue
        value = cf[given[0]]
        if config.value_type == "area" and not all(
            isinstance(value.get(k), int | float) for k in ("length", "width")
        ):
            # "Exactly one of the values (or both valueAreaLength and valueAreaWidth)"
            # (CustomFieldCreateInput): an area needs both; the value read back (CustomFieldAreaValue) has
            # both non-null.
            message = f"Provide both length and width for custom field '{config.name}'"
            errors.append(_err(message, "customFields", str(i)))
            continue
        if config.value_type == "dropdown" and value not in config.dropdown_options:
            errors.append(_err(f"'{value}' is not an option of '{config.name}'", "customFields", str(i)))
            continue
        planned.append((config, dict(value) if isinstance(value, dict) else value))
    if not errors:
        for config, value in planned:
            ctx.store.set_custom_field(client, config, value)
    return errors


def _has_name(attrs: dict[str, Any]) -> bool:
    return any((attrs.get(k) or "").strip() for k in ("firstName", "lastName", "companyName"))


def _blank_values(input: dict[str, Any]) -> list[dict[str, Any]]:
    """`number` and `address` are nullable in the input types; a phone without a number or an email without an
    address is refused (the exact message is UNCONFIRMED)."""
    errors = []
    lists = [(key, input.get(key)) for key in ("phones", "phonesToAdd", "emails", "emailsToAdd")]
    lists += [
        (f"contacts.{i}.{key}", c.get(key))
        for i, c in enumerate(input.get("contacts") or [])
        for key in ("phones", "emails")
    ]
    for key, items in lists:
        field = "address" if key.endswith(("emails", "emailsToAdd")) else "number"
        for i, item in enumerate(items or []):
            if not str(item.get(field) or "").strip():
                errors.append(_err(f"{field.capitalize()} can't be blank", *key.split("."), str(i), field))
    return errors


def client_create(_: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> Any:
    ctx = _ctx(info)
    if not _has_name(input):
        return _fail("client", _err("Client must have a first name, last name or company name", "input"))
    blank = _blank_values(input)
    if blank:
        return _fail("client", *blank)
    attrs = dict(input)
    # Clients created through the API get the app's name as lead source (reference §6.1, after 2024-09-16).
    attrs["source"] = ctx.app.name
    client = ctx.store.create_client(ctx.account, attrs)
    errors = _custom_field_errors(ctx, client, input.get("customFields") or [])
    if errors:
        # Roll back: the create is refused as a whole.
        del ctx.account.clients[client.id]
        del ctx.store.clients[client.id]
        return _fail("client", *errors)
    ctx.events.append(("CLIENT_CREATE", client.id))
    return {"client": client, "userErrors": []}


def _edit_phones(ctx: Ctx, client: Client, input: dict[str, Any]) -> list[dict[str, Any]]:
    store = ctx.store
    mine = {p.id: p for p in client.phones}
    errors = [
        _err("Phone number not found", "phonesToEdit", str(i))
        for i, p in enumerate(input.get("phonesToEdit") or [])
        if p["id"] not in mine
    ]
    errors += [
        _err("Phone number not found", "phonesToDelete", str(i))
        for i, pid in enumerate(input.get("phonesToDelete") or [])
        if pid not in mine
    ]
    if errors:
        return errors
    for pid in input.get("phonesToDelete") or []:
        client.phones.remove(mine[pid])
        store.phones.pop(pid, None)
    for edit in input.get("phonesToEdit") or []:
        phone = mine[edit["id"]]
        if edit.get("number") is not None:
            phone.number = edit["number"]
            phone.searchable_at = time.time() + store.search_lag_s
        if edit.get("description") is not None:
            phone.description = _label(edit["description"], phone.description)
        if edit.get("primary") is not None:
            phone.primary = edit["primary"]
        if edit.get("smsAllowed") is not None:
            phone.sms_allowed = edit["smsAllowed"]
    for attrs in input.get("phonesToAdd") or []:
        store.add_phone(client, attrs)
    return []


def _edit_emails(ctx: Ctx, client: Client, input: dict[str, Any]) -> list[dict[str, Any]]:
    store = ctx.store
    mine = {e.id: e for e in client.emails}
    errors = [
        _err("Email not found", "emailsToEdit", str(i))
        for i, e in enumerate(input.get("emailsToEdit") or [])
        if e["id"] not in mine
    ]
    errors += [
        _err("Email not found", "emailsToDelete", str(i))
        for i, eid in enumerate(input.get("emailsToDelete") or [])
        if eid not in mine
    ]
    if errors:
        return errors
    for eid in input.get("emailsToDelete") or []:
        client.emails.remove(mine[eid])
        store.emails.pop(eid, None)
    for edit in input.get("emailsToEdit") or []:
        email = mine[edit["id"]]
        if edit.get("address") is not None:
            email.address = edit["address"]
        if edit.get("description") is not None:
            email.description = _label(edit["description"], email.description)
        if edit.get("primary") is not None:
            email.primary = edit["primary"]
    for attrs in input.get("emailsToAdd") or []:
        store.add_email(client, attrs)
    return []


def _edit_contacts(ctx: Ctx, client: Client, input: dict[str, Any]) -> list[dict[str, Any]]:
    # No contactsToEdit: its input type (ContactEditAttributes) is only a stub in the reference schema.
    mine = {c.id: c for c in client.contacts}
    errors = [
        _err("Contact not found", "contactsToDelete", str(i))
        for i, cid in enumerate(input.get("contactsToDelete") or [])
        if cid not in mine
    ]
    if errors:
        return errors
    for cid in input.get("contactsToDelete") or []:
        contact = mine[cid]
        client.contacts.remove(contact)
        for p in contact.phones:
            ctx.store.phones.pop(p.id, None)
        ctx.store.contacts.pop(cid, None)
    for attrs in input.get("contactsToAdd") or []:
        ctx.store.add_contact(client, attrs)
    return []


def client_edit(_: Any, info: GraphQLResolveInfo, clientId: str, input: dict[str, Any]) -> Any:
    ctx = _ctx(info)
    client = _find_client(ctx, clientId)
    if client is None:
        return _fail("client", _err("Client not found", "clientId"))
    names = {
        k: input.get(k, getattr(client, a))
        for k, a in (("firstName", "first_name"), ("lastName", "last_name"), ("companyName", "company_name"))
    }
    if not _has_name(names):
        return _fail("client", _err("Client must have a first name, last name or company name", "input"))
    blank = _blank_values(input)
    if blank:
        return _fail("client", *blank)
    # Validate everything that can fail before changing anything (a mutation is all-or-nothing).
    for section, ids_key in (
        ("phones", "phonesToEdit"),
        ("emails", "emailsToEdit"),
        ("contacts", "contactsToEdit"),  # only its Delete twin exists in the schema
    ):
        mine = {x.id for x in getattr(client, section)}
        bad = [i for i, x in enumerate(input.get(ids_key) or []) if x["id"] not in mine]
        bad_del = [
            i for i, x in enumerate(input.get(ids_key.replace("Edit", "Delete")) or []) if x not in mine
        ]
        if bad or bad_del:
            key = ids_key if bad else ids_key.replace("Edit", "Delete")
            return _fail(
                "client", _err(f"{section[:-1].capitalize()} not found", key, str((bad or bad_del)[0]))
            )
    cf_errors = _custom_field_errors(ctx, client, input.get("customFields") or [])
    if cf_errors:
        return _fail("client", *cf_errors)
    for key, attr in (
        ("firstName", "first_name"),
        ("lastName", "last_name"),
        ("companyName", "company_name"),
        ("isCompany", "is_company"),
        ("title", "title"),
        ("billingAddress", "billing_address"),
    ):
        if key in input and input[key] is not None:
            setattr(client, attr, input[key])
    _edit_phones(ctx, client, input)
    _edit_emails(ctx, client, input)
    _edit_contacts(ctx, client, input)
    for label in input.get("tagsToAdd") or []:
        ctx.store.add_tag(client, label)
    drop = {t.lower() for t in input.get("tagsToDelete") or []}
    client.tags = [t for t in client.tags if t.label.lower() not in drop]
    # UNCONFIRMED whether updatedAt moves for phone/email/tag-only edits (reference §5.4); the sandbox
    # moves it.
    client.updated_at = utcnow()
    ctx.store.touch(client.id, client.updated_at)
    ctx.events.append(("CLIENT_UPDATE", client.id))
    return {"client": client, "userErrors": []}


def client_create_note(_: Any, info: GraphQLResolveInfo, clientId: str, input: dict[str, Any]) -> Any:
    ctx = _ctx(info)
    client = _find_client(ctx, clientId)
    if client is None:
        return {"client": None, "clientNote": None, "userErrors": [_err("Client not found", "clientId")]}
    message = input.get("message") or ""
    if not message.strip() and not input.get("attachments"):
        return {
            "client": client,
            "clientNote": None,
            "userErrors": [_err("Note must have a message or an attachment", "input", "message")],
        }
    note = ctx.store.add_client_note(
        client,
        message,
        _author(ctx),
        pinned=bool(input.get("pinned")),
        attachments=_attachments(ctx.store, input.get("attachments")),
        linked_to=dict(input.get("linkedTo") or {}),
    )
    # Notes fire no webhook (reference §6.3).
    return {"client": client, "clientNote": note, "userErrors": []}


def _edit_note(note: Note, ctx: Ctx, input: dict[str, Any]) -> None:
    if input.get("message") is not None:
        note.message = input["message"]
    if input.get("pinned") is not None:
        note.pinned = input["pinned"]
    drop = set(input.get("attachmentsToDelete") or [])
    note.attachments = [a for a in note.attachments if a["id"] not in drop]
    note.attachments += _attachments(ctx.store, input.get("attachmentsToAdd"))
    if input.get("linkedTo") is not None:
        note.linked_to = dict(input["linkedTo"])
    note.last_edited_at = utcnow()
    note.last_edited_by = _author(ctx)


def client_edit_note(_: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> Any:
    ctx = _ctx(info)
    note = ctx.store.notes.get(input["noteId"])
    client = _find_client(ctx, note.parent_id) if note else None
    if note is None or client is None:
        return _fail("clientNote", _err("Note not found", "input", "noteId"))
    _edit_note(note, ctx, input)
    ctx.store.touch(client.id)
    return {"client": client, "clientNote": note, "userErrors": []}


def client_delete_note(_: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> Any:
    ctx = _ctx(info)
    note = ctx.store.notes.get(input["noteId"])
    client = _find_client(ctx, note.parent_id) if note else None
    if note is None or client is None:
        return {
            "client": None,
            "deletedNote": None,
            "userErrors": [_err("Note not found", "input", "noteId")],
        }
    client.notes = [n for n in client.notes if n.id != note.id]
    del ctx.store.notes[note.id]
    return {"client": client, "deletedNote": note, "userErrors": []}


def request_create(_: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> Any:
    ctx = _ctx(info)
    client = _find_client(ctx, input.get("clientId"))
    if client is None:
        return _fail("request", _err("Client not found", "input", "clientId"))
    # Request.source is read-only; API-created requests are attributed to the app (UNCONFIRMED value).
    request = ctx.store.create_request(client, input.get("title") or "", source=ctx.app.name)
    ctx.events.append(("REQUEST_CREATE", request.id))  # UNCONFIRMED that API-created requests notify
    return {"request": request, "userErrors": []}


def _find_request(ctx: Ctx, request_id: str | None) -> Request | None:
    request = ctx.store.requests.get(request_id or "")
    return request if request and request.account_id == ctx.account.id else None


def request_create_note(_: Any, info: GraphQLResolveInfo, requestId: str, input: dict[str, Any]) -> Any:
    ctx = _ctx(info)
    request = _find_request(ctx, requestId)
    if request is None:
        return {"request": None, "requestNote": None, "userErrors": [_err("Request not found", "requestId")]}
    message = input.get("message") or ""
    if not message.strip() and not input.get("attachments"):
        return {
            "request": request,
            "requestNote": None,
            "userErrors": [_err("Note must have a message or an attachment", "input", "message")],
        }
    note = ctx.store.add_request_note(
        request,
        message,
        _author(ctx),
        pinned=bool(input.get("pinned")),
        attachments=_attachments(ctx.store, input.get("attachments")),
        linked_to=dict(input.get("linkedTo") or {}),
    )
    return {"request": request, "requestNote": note, "userErrors": []}


def request_edit_note(_: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> Any:
    ctx = _ctx(info)
    note = ctx.store.notes.get(input["noteId"])
    request = _find_request(ctx, note.parent_id) if note else None
    if note is None or request is None:
        return _fail("requestNote", _err("Note not found", "input", "noteId"))
    _edit_note(note, ctx, input)
    ctx.store.touch(request.client_id)
    return {"request": request, "requestNote": note, "userErrors": []}


def task_create(
    _: Any,
    info: GraphQLResolveInfo,
    input: dict[str, Any],
    clientId: str | None = None,
    propertyId: str | None = None,
) -> Any:
    ctx = _ctx(info)
    if clientId is not None and _find_client(ctx, clientId) is None:
        return _fail("task", _err("Client not found", "clientId"))
    if not (input.get("title") or "").strip():
        return _fail("task", _err("Title can't be blank", "input", "title"))
    users = ctx.store.users
    bad = [
        i
        for i, u in enumerate(input.get("assignedTo") or [])
        if u not in users or users[u].account_id != ctx.account.id
    ]
    if bad:
        return _fail("task", _err("User not found", "input", "assignedTo", str(bad[0])))
    start, end = input.get("startAt"), input.get("endAt")
    if start and end and end < start:
        return _fail("task", _err("End must be after start", "input", "endAt"))
    # UNCONFIRMED whether an unscheduled task (no startAt) is allowed; the sandbox allows it.
    task = ctx.store.create_task(
        ctx.account,
        client_id=clientId,
        property_id=propertyId,
        title=input["title"],
        instructions=input.get("instructions"),
        start_at=start,
        end_at=end,
        all_day=bool(input.get("allDay")),
        assigned_to=list(input.get("assignedTo") or []),
    )
    return {"task": task, "userErrors": []}


def _cf_config_create(value_type: str) -> Any:
    def resolve(_: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> Any:
        ctx = _ctx(info)
        if not input["name"].strip():
            return _fail("customFieldConfiguration", _err("Name can't be blank", "input", "name"))
        config = ctx.store.create_cf_config(
            ctx.account,
            input["name"],
            value_type,
            applies_to=input["appliesTo"],
            read_only=input["readOnly"],
            transferable=input["transferable"],
            default_value=input.get("defaultValue"),
            unit=input.get("unit") or "",
            app_id=ctx.app.app_id,
        )
        return {"customFieldConfiguration": config, "userErrors": []}

    return resolve


def app_disconnect(_: Any, info: GraphQLResolveInfo) -> Any:
    ctx = _ctx(info)
    ctx.store.disconnect(ctx.account.id)
    # UNCONFIRMED: whether Jobber also sends APP_DISCONNECT when the app itself disconnects; the sandbox does.
    ctx.events.append(("APP_DISCONNECT", ctx.account.id))
    return {"app": ctx.app, "userErrors": []}


MUTATION = {
    "clientCreate": client_create,
    "clientEdit": client_edit,
    "clientCreateNote": client_create_note,
    "clientEditNote": client_edit_note,
    "clientDeleteNote": client_delete_note,
    "requestCreate": request_create,
    "requestCreateNote": request_create_note,
    "requestEditNote": request_edit_note,
    "taskCreate": task_create,
    "customFieldConfigurationCreateText": _cf_config_create("text"),
    "customFieldConfigurationCreateLink": _cf_config_create("link"),
    "customFieldConfigurationCreateArea": _cf_config_create("area"),
    "appDisconnect": app_disconnect,
}
