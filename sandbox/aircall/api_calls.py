"""Emulated Aircall REST for calls: list/get, comments, insight cards, and the conversation-intelligence
endpoints (reference §2, §4, §6). Calls get into state through the sandbox admin API."""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.responses import JSONResponse, Response

from sandbox.aircall.http import ApiError, Ctx, bad_request, not_found, order_items, paginate, time_window

# REST-only renames: `call_uuid` (webhooks) is `sid` in the API, `participants` is `conference_participants`;
# a few fields exist only on webhooks (reference §2).
_WEBHOOK_ONLY = {"call_uuid", "participants", "external_transferred_to", "external_caller_number"}


def api_call(call: dict[str, Any], *, short_urls: bool = False, with_contact: bool = True) -> dict[str, Any]:
    out = {k: v for k, v in call.items() if k not in _WEBHOOK_ONLY and not k.startswith("_")}
    out["sid"] = call.get("call_uuid")
    out["conference_participants"] = call.get("participants") or []
    if isinstance(out.get("number"), dict):
        out["number"] = {k: v for k, v in out["number"].items() if k != "e164_digits"}
    if not short_urls:
        out.pop("recording_short_url", None)
        out.pop("voicemail_short_url", None)
    if not with_contact:
        out["contact"] = None
    return out


def call_has_ended(call: dict[str, Any]) -> bool:
    return call.get("status") == "done" or call.get("ended_at") is not None


def _call(ctx: Ctx) -> dict[str, Any]:
    call = ctx.company.calls.get(ctx.request.path_params["id"])
    if call is None:
        raise not_found("Call")
    return call


def _flag(ctx: Ctx, name: str) -> bool:
    return ctx.request.query_params.get(name, "false").lower() == "true"


async def calls_list(ctx: Ctx) -> Response:
    items = time_window(ctx, list(ctx.company.calls.values()), "started_at")
    chunk, meta = paginate(ctx, order_items(ctx, items, "started_at"))
    short, contact = _flag(ctx, "fetch_short_urls"), _flag(ctx, "fetch_contact")
    return JSONResponse(
        {"calls": [api_call(c, short_urls=short, with_contact=contact) for c in chunk], "meta": meta}
    )


async def call_get(ctx: Ctx) -> Response:
    return JSONResponse({"call": api_call(_call(ctx), short_urls=_flag(ctx, "fetch_short_urls"))})


async def call_comment(ctx: Ctx) -> Response:
    body = await ctx.body()
    content = body.get("content")
    if not isinstance(content, str) or not content.strip():
        raise bad_request("content is required")
    with ctx.state.lock:
        call = _call(ctx)
        comment = {
            "id": ctx.state.next_id("comment"),
            "content": content,
            "posted_at": int(time.time()),
            "posted_by": None,
        }
        call.setdefault("comments", []).append(comment)
        ctx.company.comments_posted.setdefault(call["id"], []).append(comment)
    # UNCONFIRMED response body; 201 with the comment.
    return JSONResponse({"comment": comment}, 201)


_CARD_FIELDS: dict[str, dict[str, type]] = {
    "title": {"text": str},
    "shortText": {"label": str, "text": str},
    "user": {"label": str, "user_id": int},  # UNCONFIRMED content type (reference §4)
}


def validate_contents(body: dict[str, Any]) -> list[dict[str, Any]]:
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise bad_request("contents is required and must be a non-empty array")
    for i, item in enumerate(contents):
        if not isinstance(item, dict):
            raise bad_request(f"contents[{i}] must be an object")
        kind = item.get("type")
        if kind not in _CARD_FIELDS:
            raise bad_request(f"contents[{i}].type must be one of {', '.join(_CARD_FIELDS)}")
        for key, typ in _CARD_FIELDS[kind].items():
            value = item.get(key)
            if (
                not isinstance(value, typ)
                or isinstance(value, bool)
                or (isinstance(value, str) and not value.strip())
            ):
                raise bad_request(f"contents[{i}].{key} is required ({typ.__name__})")
        link = item.get("link")
        if link is not None and (not isinstance(link, str) or not link.startswith(("http://", "https://"))):
            raise bad_request(f"contents[{i}].link must be an http(s) URL")
    return contents


async def insight_card(ctx: Ctx) -> Response:
    body = await ctx.body()
    contents = validate_contents(body)
    with ctx.state.lock:
        call = _call(ctx)
        status = ctx.options.ended_call_card_status
        if status is not None and call_has_ended(call):
            raise ApiError(
                status,
                "Bad Request" if status == 400 else "Unprocessable Entity",
                "Insight cards can only be sent to ongoing calls",
            )
        ctx.company.insight_cards.setdefault(call["id"], []).append(
            {"contents": contents, "posted_at": time.time(), "bytes": len(json.dumps(body))}
        )
    # UNCONFIRMED success shape: 201 Created with an empty body (clients should not read it).
    return Response(status_code=201)


def ci_endpoint(kind: str):  # type: ignore[no-untyped-def]
    async def handler(ctx: Ctx) -> Response:
        if not ctx.company.ai_assist:
            raise ApiError(403, "Forbidden", "Your plan does not include Aircall AI (AI Assist)")
        call = _call(ctx)
        content = ctx.company.ai.get(call["id"], {}).get(kind)
        if content is None:
            raise ApiError(404, "Not Found", f"No {kind} available for this call yet")
        return JSONResponse(content)

    return handler
