"""Emulated Aircall Contacts API (reference §5): list, search, get, create, POST-update (names only),
delete, and phone/email detail sub-resources. Contact ids are integers; all contacts are shared."""

from __future__ import annotations

import re
import time
from typing import Any

from starlette.responses import JSONResponse, Response

from sandbox.aircall.http import Ctx, bad_request, not_found, paginate, time_window
from sandbox.aircall.phones import is_e164ish, same_number, strip_separators

MAX_DETAILS = 20
MAX_INFORMATION = 30_000
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TEXT_FIELDS = ("first_name", "last_name", "company_name", "information", "description")
# Emojis are stripped by Aircall (Help Center); approximate with the astral plane + common symbol blocks.
_EMOJI = re.compile("[\U00010000-\U0010ffff\u2600-\u27bf\ufe0f]")


def _clean_text(body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in _TEXT_FIELDS:
        if key in body:
            value = body[key]
            if value is not None and not isinstance(value, str):
                raise bad_request(f"{key} must be a string")
            out[key] = _EMOJI.sub("", value) if value else value
    if len(out.get("information") or "") > MAX_INFORMATION:
        raise bad_request(f"information is limited to {MAX_INFORMATION} characters")
    return out


def _detail(ctx: Ctx, item: Any, kind: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise bad_request(f"{kind} entries must be objects with label and value")
    value = item.get("value")
    if not isinstance(value, str) or not value.strip():
        raise bad_request(f"{kind} value is required")
    if kind == "phone_numbers":
        if not is_e164ish(value):
            raise bad_request(
                f"Invalid phone number: {value!r} (international format expected, e.g. +14155550100)"
            )
        value = strip_separators(value)
    elif not _EMAIL.match(value):
        raise bad_request(f"Invalid email: {value!r}")
    return {"id": ctx.state.next_id("detail"), "label": str(item.get("label") or "Work"), "value": value}


def _details(ctx: Ctx, items: Any, kind: str) -> list[dict[str, Any]]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise bad_request(f"{kind} must be an array")
    if len(items) > MAX_DETAILS:
        raise bad_request(f"A contact can have at most {MAX_DETAILS} {kind.replace('_', ' ')}")
    return [_detail(ctx, i, kind) for i in items]


def _get(ctx: Ctx) -> dict[str, Any]:
    contact = ctx.company.contacts.get(ctx.request.path_params["id"])
    if contact is None:
        raise not_found("Contact")
    return contact


def public(contact: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in contact.items() if not k.startswith("_")}


def _ordered(ctx: Ctx, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    order_by = ctx.request.query_params.get("order_by", "created_at")
    if order_by not in ("created_at", "updated_at"):
        raise bad_request("order_by must be created_at or updated_at")
    order = ctx.request.query_params.get("order", "asc")
    if order not in ("asc", "desc"):
        raise bad_request("order must be asc or desc")
    items = time_window(ctx, items, "created_at")
    return sorted(items, key=lambda c: (c[order_by], c["id"]), reverse=order == "desc")


async def contacts_list(ctx: Ctx) -> Response:
    chunk, meta = paginate(ctx, _ordered(ctx, list(ctx.company.contacts.values())))
    return JSONResponse({"contacts": [public(c) for c in chunk], "meta": meta})


async def contacts_search(ctx: Ctx) -> Response:
    phone = ctx.request.query_params.get("phone_number")
    email = ctx.request.query_params.get("email")
    # Eventually consistent (reference §5): contacts younger than search_delay_s are not indexed yet.
    indexed_before = time.time() - ctx.options.search_delay_s
    found = []
    for c in ctx.company.contacts.values():
        if c["_indexed_at"] > indexed_before:
            continue
        if phone and not any(same_number(phone, p["value"]) for p in c["phone_numbers"]):
            continue
        if email and not any(e["value"].lower() == email.lower() for e in c["emails"]):
            continue
        found.append(c)
    chunk, meta = paginate(ctx, _ordered(ctx, found))
    return JSONResponse({"contacts": [public(c) for c in chunk], "meta": meta})


async def contact_get(ctx: Ctx) -> Response:
    return JSONResponse({"contact": public(_get(ctx))})


async def contact_create(ctx: Ctx) -> Response:
    body = await ctx.body()
    fields = _clean_text(body)
    phones = _details(ctx, body.get("phone_numbers"), "phone_numbers")
    emails = _details(ctx, body.get("emails"), "emails")
    if ctx.options.contact_requires_phone and not phones:
        raise bad_request("At least one phone number is required")
    now = int(time.time())
    with ctx.state.lock:
        cid = ctx.state.next_id("contact")
        contact = {
            "id": cid,
            "direct_link": f"{ctx.options.link_base}/v1/contacts/{cid}",
            "first_name": None,
            "last_name": None,
            "company_name": None,
            "description": None,
            "information": None,
            **fields,
            "is_shared": True,
            # UNCONFIRMED: UNIX seconds here (like calls); contact *webhooks* carry ISO strings.
            "created_at": now,
            "updated_at": now,
            "phone_numbers": phones,
            "emails": emails,
            "_indexed_at": time.time(),
        }
        ctx.company.contacts[cid] = contact
    return JSONResponse({"contact": public(contact)}, 201)


async def contact_update(ctx: Ctx) -> Response:
    body = await ctx.body()
    # Phone numbers and emails are NOT updated through this call (reference §5): they are ignored.
    fields = _clean_text(body)
    with ctx.state.lock:
        contact = _get(ctx)
        contact.update(fields, updated_at=int(time.time()))
    return JSONResponse({"contact": public(contact)})


async def contact_delete(ctx: Ctx) -> Response:
    with ctx.state.lock:
        contact = _get(ctx)
        ctx.company.contacts.pop(contact["id"], None)
    return Response(status_code=204)


def detail_endpoints(kind: str) -> tuple[Any, Any, Any]:
    """POST / PUT / DELETE handlers for `phone_details` (kind=phone_numbers) or `email_details` (emails).
    UNCONFIRMED response bodies: the whole contact, 201 on create, 200 on update, 204 on delete."""
    param = "detail_id"

    async def create(ctx: Ctx) -> Response:
        body = await ctx.body()
        with ctx.state.lock:
            contact = _get(ctx)
            if len(contact[kind]) >= MAX_DETAILS:
                raise bad_request(f"A contact can have at most {MAX_DETAILS} {kind.replace('_', ' ')}")
            contact[kind].append(_detail(ctx, body, kind))
            contact["updated_at"] = int(time.time())
        return JSONResponse({"contact": public(contact)}, 201)

    def find(ctx: Ctx, contact: dict[str, Any]) -> dict[str, Any]:
        items: list[dict[str, Any]] = contact[kind]
        for item in items:
            if item["id"] == ctx.request.path_params[param]:
                return item
        raise not_found("Phone detail" if kind == "phone_numbers" else "Email detail")

    async def update(ctx: Ctx) -> Response:
        body = await ctx.body()
        with ctx.state.lock:
            contact = _get(ctx)
            item = find(ctx, contact)
            merged = _detail(
                ctx,
                {"label": body.get("label", item["label"]), "value": body.get("value", item["value"])},
                kind,
            )
            item.update(label=merged["label"], value=merged["value"])
            contact["updated_at"] = int(time.time())
        return JSONResponse({"contact": public(contact)})

    async def delete(ctx: Ctx) -> Response:
        with ctx.state.lock:
            contact = _get(ctx)
            item = find(ctx, contact)
            contact[kind].remove(item)
            contact["updated_at"] = int(time.time())
        return Response(status_code=204)

    return create, update, delete
