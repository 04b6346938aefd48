"""Emulated Aircall REST: ping, company, integration, numbers, users and webhook CRUD (reference §8)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from starlette.responses import JSONResponse, Response

from sandbox.aircall.http import ApiError, Ctx, bad_request, not_found, order_items, paginate
from sandbox.aircall.state import ALL_EVENTS, iso_now, new_uuid, new_webhook_token


async def ping(ctx: Ctx) -> Response:
    return JSONResponse({"ping": "pong"})


async def company(ctx: Ctx) -> Response:
    c = ctx.company
    return JSONResponse(
        {"company": {"name": c.name, "users_count": len(c.users), "numbers_count": len(c.numbers)}}
    )


def integration_view(ctx: Ctx) -> dict[str, Any]:
    c = ctx.company
    # An OAuth install reports the numbers its admin chose; without one (API keys), every number.
    chosen = c.integration.get("number_ids")
    number_ids = sorted(chosen) if chosen is not None else sorted(c.numbers)
    first_user = next(iter(c.users.values()), None)
    return {
        **c.integration,
        "number_ids": number_ids,
        "numbers_count": len(number_ids),
        "user": {"id": first_user["id"], "name": first_user["name"], "email": first_user["email"]}
        if first_user
        else None,
    }


async def integration_me(ctx: Ctx) -> Response:
    # UNCONFIRMED wrapper key "integration" (jiminny/oauth2-aircall reads the body under it). Documented for
    # OAuth tokens; for an API key it is refused unless the company says otherwise (UNCONFIRMED either way).
    if ctx.oauth_token is None and not ctx.company.integrations_me_for_api_keys:
        raise ApiError(403, "Forbidden", "This endpoint is only available to OAuth integrations")
    return JSONResponse({"integration": integration_view(ctx)})


async def integration_enable(ctx: Ctx) -> Response:
    with ctx.state.lock:
        ctx.company.integration.update(active=True, status="active")
    return JSONResponse({"integration": integration_view(ctx)})


async def integration_disable(ctx: Ctx) -> Response:
    with ctx.state.lock:
        ctx.company.integration.update(active=False, status="inactive")
    return JSONResponse({"integration": integration_view(ctx)})


def api_number(number: dict[str, Any]) -> dict[str, Any]:
    # `e164_digits` is a webhook-only field (reference §1.4 / §2); the REST number does not carry it.
    return {k: v for k, v in number.items() if k != "e164_digits"}


async def numbers_list(ctx: Ctx) -> Response:
    items = order_items(ctx, [api_number(n) for n in ctx.company.numbers.values()], "id")
    chunk, meta = paginate(ctx, items)
    return JSONResponse({"numbers": chunk, "meta": meta})


async def number_get(ctx: Ctx) -> Response:
    number = ctx.company.numbers.get(ctx.request.path_params["id"])
    if number is None:
        raise not_found("Number")
    return JSONResponse({"number": api_number(number)})


async def users_list(ctx: Ctx) -> Response:
    chunk, meta = paginate(ctx, order_items(ctx, list(ctx.company.users.values()), "id"))
    return JSONResponse({"users": chunk, "meta": meta})


async def user_get(ctx: Ctx) -> Response:
    user = ctx.company.users.get(ctx.request.path_params["id"])
    if user is None:
        raise not_found("User")
    return JSONResponse({"user": user})


async def users_v2_list(ctx: Ctx) -> Response:
    # Minimal /v2/users (UNCONFIRMED field set): split names, keep id/email/availability.
    users = []
    for u in ctx.company.users.values():
        first, _, last = u["name"].partition(" ")
        users.append(
            {
                "id": u["id"],
                "first_name": first,
                "last_name": last,
                "email": u["email"],
                "availability_status": u["availability_status"],
                "created_at": u["created_at"],
            }
        )
    chunk, meta = paginate(ctx, order_items(ctx, users, "id"))
    return JSONResponse({"users": chunk, "meta": meta})


# --- webhooks --------------------------------------------------------------------------------------------


def _check_url(ctx: Ctx, url: Any) -> str:
    if not isinstance(url, str) or not url:
        raise bad_request("url is required")
    parsed = urlparse(url)
    allowed = ("https",) if ctx.options.require_https_webhooks else ("https", "http")
    if parsed.scheme not in allowed or not parsed.netloc:
        raise bad_request(
            "url is invalid" + (" (https required)" if ctx.options.require_https_webhooks else "")
        )
    return url


def _check_events(events: Any) -> list[str]:
    if events is None or events == []:
        return list(ALL_EVENTS)  # omitted or empty -> subscribed to everything
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise bad_request("events must be a list of event names")
    unknown = [e for e in events if e not in ALL_EVENTS]
    if unknown:
        raise bad_request(f"Invalid events: {', '.join(unknown)}")
    return list(dict.fromkeys(events))


def _visible(ctx: Ctx) -> list[dict[str, Any]]:
    """OAuth tokens only see the webhooks they created; Basic auth sees Dashboard/Basic ones (§8.2)."""
    owner = ctx.company.webhook_owner
    return [w for wid, w in ctx.company.webhooks.items() if owner.get(wid) == ctx.oauth_token]


def _find(ctx: Ctx) -> dict[str, Any]:
    key = str(ctx.request.path_params["webhook_id"])
    for w in _visible(ctx):
        # Old numeric ids still resolve (§8.3); `_legacy_id` is kept out of the JSON by `public`.
        if w["webhook_id"] == key or str(w["_legacy_id"]) == key:
            return w
    raise not_found("Webhook")


def public(webhook: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in webhook.items() if not k.startswith("_")}


async def webhook_create(ctx: Ctx) -> Response:
    body = await ctx.body()
    url = _check_url(ctx, body.get("url"))
    events = _check_events(body.get("events"))
    with ctx.state.lock:
        if len(ctx.company.webhooks) >= ctx.options.max_webhooks:
            raise bad_request(f"A company cannot have more than {ctx.options.max_webhooks} webhooks")
        legacy = ctx.state.next_id("webhook_legacy")
        webhook_id = new_uuid()
        webhook: dict[str, Any] = {
            "webhook_id": webhook_id,
            "direct_link": f"{ctx.options.link_base}/v1/webhooks/{legacy}",
            "created_at": iso_now(),
            "custom_name": body.get("custom_name") or "Webhook",
            "url": url,
            "active": True,
            "events": events,
            "token": new_webhook_token(),
            "_legacy_id": legacy,
        }
        ctx.company.webhooks[webhook_id] = webhook
        ctx.company.webhook_owner[webhook_id] = ctx.oauth_token
    return JSONResponse({"webhook": public(webhook)}, 201)


async def webhooks_list(ctx: Ctx) -> Response:
    items = order_items(ctx, [public(w) | {"_sort": w["_legacy_id"]} for w in _visible(ctx)], "_sort")
    chunk, meta = paginate(ctx, [{k: v for k, v in w.items() if k != "_sort"} for w in items])
    return JSONResponse({"webhooks": chunk, "meta": meta})


async def webhook_get(ctx: Ctx) -> Response:
    return JSONResponse({"webhook": public(_find(ctx))})


async def webhook_update(ctx: Ctx) -> Response:
    body = await ctx.body()
    with ctx.state.lock:
        webhook = _find(ctx)
        changes: dict[str, Any] = {}
        if "url" in body:
            changes["url"] = _check_url(ctx, body["url"])
        if "custom_name" in body:
            changes["custom_name"] = body["custom_name"] or "Webhook"
        if "active" in body:
            if not isinstance(body["active"], bool):
                raise bad_request("active must be a boolean")
            changes["active"] = body["active"]
        action = ctx.request.query_params.get("events_action")
        if action in ("add", "remove"):
            given = _check_events(body.get("events") or [])
            current = webhook["events"]
            changes["events"] = (
                list(dict.fromkeys(current + given))
                if action == "add"
                else [e for e in current if e not in given]
            )
        elif action is not None:
            raise bad_request("events_action must be add or remove")
        else:
            # Omitted events reset the subscription to all events (reference §8.3).
            changes["events"] = _check_events(body.get("events"))
        webhook.update(changes)
    return JSONResponse({"webhook": public(webhook)})


async def webhook_delete(ctx: Ctx) -> Response:
    with ctx.state.lock:
        webhook = _find(ctx)
        ctx.company.webhooks.pop(webhook["webhook_id"], None)
        ctx.company.webhook_owner.pop(webhook["webhook_id"], None)
    return Response(status_code=204)
