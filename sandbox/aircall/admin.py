"""Sandbox admin API under `/_sandbox/...` (not part of Aircall): reset, companies, OAuth clients,
calls registration / ending, AI content generation, and a JSON dump of the whole state.

No auth and no faults/rate limit apply here: tests, the demo and the scenario driver use it."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.aircall import ai
from sandbox.aircall.api_contacts import public as public_contact
from sandbox.aircall.http import Options
from sandbox.aircall.state import AI_KINDS, Company, State
from sandbox.common import Faults

# A call only moves forward: a late `call.created` snapshot must not reopen an ended call.
_STATUS_RANK = {"initial": 0, "ringing": 0, "answered": 1, "voicemail": 2, "done": 2}


def _err(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status)


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    data = json.loads(raw) if raw else {}
    if not isinstance(data, dict):
        raise ValueError("body must be a JSON object")
    return data


def company_view(company: Company, *, secrets_too: bool = True) -> dict[str, Any]:
    api_id, api_token = next(iter(company.api_keys.items()))
    view: dict[str, Any] = {
        "id": company.id,
        "name": company.name,
        "api_id": api_id,
        "ai_assist": company.ai_assist,
        "rate_limit_per_min": company.rate.limit,
        "numbers": list(company.numbers.values()),
        "users": list(company.users.values()),
        "integration": dict(company.integration),
    }
    if secrets_too:
        view["api_token"] = api_token
    return view


async def reset(request: Request) -> Response:
    request.app.state.aircall.reset()
    request.app.state.faults.reset()
    return JSONResponse({"ok": True})


async def companies(request: Request) -> Response:
    """POST `{name?, numbers?: [{name, e164|digits, country, time_zone, id?}], users?: [{name, email, id?}],
    api_id?, api_token?, rate_limit_per_min?, ai_assist?, oauth_token?: bool}` -> 201 company view
    (with `api_token`, and `oauth_token` when asked). GET lists companies."""
    state: State = request.app.state.aircall
    if request.method == "GET":
        with state.lock:
            return JSONResponse({"companies": [company_view(c) for c in state.companies.values()]})
    try:
        body = await _json(request)
        company = state.create_company(
            name=body.get("name"),
            numbers=body.get("numbers"),
            users=body.get("users"),
            api_id=body.get("api_id"),
            api_token=body.get("api_token"),
            rate_limit_per_min=body.get("rate_limit_per_min"),
            ai_assist=bool(body.get("ai_assist", True)),
        )
    except (ValueError, TypeError, KeyError) as exc:
        return _err(400, str(exc))
    view = company_view(company)
    if body.get("oauth_token"):
        view["oauth_token"] = state.mint_oauth_token(company)
    return JSONResponse(view, 201)


async def company_update(request: Request) -> Response:
    """POST `/_sandbox/companies/{id}` `{rate_limit_per_min?, ai_assist?, name?, rate_reset_unit?: "s"|"ms"}`:
    change a company live (also `integrations_me_for_api_keys`: answer /v1/integrations/me for API keys).
    `rate_reset_unit`: X-AircallApi-Reset in UNIX seconds (default) or milliseconds
    (UNCONFIRMED which Aircall sends; clients must read both)."""
    state: State = request.app.state.aircall
    body = await _json(request)
    with state.lock:
        company = state.companies.get(request.path_params["id"])
        if company is None:
            return _err(404, "company not found")
        if "rate_limit_per_min" in body:
            company.rate.limit = int(body["rate_limit_per_min"])
        if "ai_assist" in body:
            company.ai_assist = bool(body["ai_assist"])
        if "name" in body:
            company.name = str(body["name"])
        if body.get("rate_reset_unit") in ("s", "ms"):
            company.rate.reset_unit = body["rate_reset_unit"]
        if "integrations_me_for_api_keys" in body:
            company.integrations_me_for_api_keys = bool(body["integrations_me_for_api_keys"])
        return JSONResponse(company_view(company))


async def api_key_for(request: Request) -> Response:
    """POST `/_sandbox/companies/{id}/api_keys`: another API key of the company (an admin creates a second
    key in the Dashboard) -> 201 {api_id, api_token}."""
    state: State = request.app.state.aircall
    with state.lock:
        company = state.companies.get(request.path_params["id"])
        if company is None:
            return _err(404, "company not found")
        api_id, api_token = secrets.token_hex(16), secrets.token_hex(16)
        company.api_keys[api_id] = api_token
    return JSONResponse({"api_id": api_id, "api_token": api_token}, 201)


async def oauth_token_for(request: Request) -> Response:
    """POST `/_sandbox/companies/{id}/oauth_token` -> `{"access_token": ...}` (skip the consent dance)."""
    state: State = request.app.state.aircall
    company = state.companies.get(request.path_params["id"])
    if company is None:
        return _err(404, "company not found")
    return JSONResponse({"access_token": state.mint_oauth_token(company)}, 201)


async def uninstall(request: Request) -> Response:
    """POST `/_sandbox/companies/{id}/uninstall` `{"revoke_tokens": true}`: an admin uninstalls the app in the
    Aircall Dashboard. Whether Aircall then refuses the install's OAuth tokens is UNCONFIRMED (the reference
    documents only the `integration.deleted` webhook, §8.2): by default they are refused (403, like any bad
    token); `"revoke_tokens": false` keeps them working and shows the install as inactive. The caller sends
    `integration.deleted` itself (to the webhook the install created). -> {revoked: N, integration}."""
    state: State = request.app.state.aircall
    body = await _json(request)
    with state.lock:
        company = state.companies.get(request.path_params["id"])
        if company is None:
            return _err(404, "company not found")
        revoked = 0
        if body.get("revoke_tokens", True):
            for token in [t for t, cid in state.oauth_tokens.items() if cid == company.id]:
                del state.oauth_tokens[token]
                revoked += 1
        company.integration.update(active=False, status="inactive")
        return JSONResponse({"revoked": revoked, "integration": dict(company.integration)})


async def oauth_clients(request: Request) -> Response:
    """POST `{client_id, client_secret}` registers an OAuth app; GET lists client ids."""
    state: State = request.app.state.aircall
    if request.method == "POST":
        body = await _json(request)
        if not body.get("client_id") or not body.get("client_secret"):
            return _err(400, "client_id and client_secret are required")
        state.oauth_clients[str(body["client_id"])] = str(body["client_secret"])
        return JSONResponse({"client_id": body["client_id"]}, 201)
    return JSONResponse({"client_ids": sorted(state.oauth_clients)})


async def paging(request: Request) -> Response:
    """GET shows, POST `{"ceiling": 100}` sets how many items a list pages through before paging stops
    (Aircall: 10,000, reference §2); `{"ceiling": null}` or a reset restores the option."""
    state: State = request.app.state.aircall
    options: Options = request.app.state.options
    if request.method == "POST":
        ceiling = (await _json(request)).get("ceiling")
        if ceiling is not None and (not isinstance(ceiling, int) or isinstance(ceiling, bool) or ceiling < 1):
            return _err(400, "ceiling must be a positive integer or null")
        with state.lock:
            state.paging_ceiling = ceiling
    return JSONResponse({"ceiling": state.paging_ceiling or options.paging_ceiling})


def _resolve_company(state: State, body: dict[str, Any], call: dict[str, Any]) -> Company | None:
    if body.get("company_id") is not None:
        return state.companies.get(int(body["company_id"]))
    if body.get("token"):
        found = state.company_by_webhook_token(str(body["token"]))
        if found:
            return found
    number = call.get("number") or {}
    if number.get("id") is not None:
        found = state.company_by_number(int(number["id"]))
        if found:
            return found
    existing = state.company_by_call(int(call["id"]))
    if existing:
        return existing
    return next(iter(state.companies.values())) if len(state.companies) == 1 else None


def merge_call(stored: dict[str, Any] | None, incoming: dict[str, Any]) -> dict[str, Any]:
    """Upsert a Call snapshot; never move status backwards, never lose ended_at/answered_at/comments."""
    if stored is None:
        return dict(incoming)
    merged = dict(stored)
    for key, value in incoming.items():
        if key == "status" and _STATUS_RANK.get(str(value), 0) < _STATUS_RANK.get(
            str(stored.get("status")), 0
        ):
            continue
        if (
            value is None
            and stored.get(key) is not None
            and key in ("ended_at", "answered_at", "recording", "voicemail", "asset", "user")
        ):
            continue
        merged[key] = value
    return merged


async def register_call(request: Request) -> Response:
    """POST a Call object (webhook `data` shape) or `{"call": {...}, "company_id"?, "token"?}`. The company
    is found by company_id, webhook token, number id, an earlier registration, or the only company."""
    state: State = request.app.state.aircall
    try:
        body = await _json(request)
        call: dict[str, Any] = body["call"] if isinstance(body.get("call"), dict) else body
        call_id = int(call.get("id") or state.next_id("call"))
    except (ValueError, TypeError) as exc:
        return _err(400, str(exc))
    call = {k: v for k, v in call.items() if k not in ("company_id", "token")} | {"id": call_id}
    with state.lock:
        company = _resolve_company(state, body, call)
        if company is None:
            return _err(404, "no company matches this call (pass company_id, token or a known number.id)")
        stored = merge_call(company.calls.get(call_id), call)
        stored.setdefault("direct_link", f"{request.app.state.options.link_base}/v1/calls/{call_id}")
        stored.setdefault("status", "initial")
        stored.setdefault("started_at", int(time.time()))
        company.calls[call_id] = stored
    return JSONResponse({"company_id": company.id, "call": stored}, 201)


def _company_and_call(state: State, call_id: int) -> tuple[Company, dict[str, Any]] | None:
    company = state.company_by_call(call_id)
    return (company, company.calls[call_id]) if company else None


async def end_call(request: Request) -> Response:
    """POST `/_sandbox/calls/{id}/end` `{ended_at?, answered?}`: mark the call done (hang-up)."""
    state: State = request.app.state.aircall
    body = await _json(request)
    with state.lock:
        found = _company_and_call(state, request.path_params["id"])
        if not found:
            return _err(404, "call not found")
        _, call = found
        ended = int(body.get("ended_at") or time.time())
        call.update(status="done", ended_at=call.get("ended_at") or ended)
        call["duration"] = max(0, int(call["ended_at"]) - int(call.get("started_at") or call["ended_at"]))
        return JSONResponse({"call": call})


async def generate_ai(request: Request) -> Response:
    """POST `/_sandbox/calls/{id}/ai` `{kinds?: [transcription|summary|topics|sentiments|action_items]
    (default all; "sentiment"/"action_item"/"topic" accepted), content?: {summary, topics, sentiment,
    action_items, utterances}}` -> the generated REST bodies; the CI endpoints stop answering 404."""
    state: State = request.app.state.aircall
    body = await _json(request)
    aliases = {"sentiment": "sentiments", "action_item": "action_items", "topic": "topics"}
    kinds = [aliases.get(k, k) for k in (body.get("kinds") or AI_KINDS)]
    if any(k not in AI_KINDS for k in kinds):
        return _err(400, f"kinds must be among {list(AI_KINDS)}")
    with state.lock:
        found = _company_and_call(state, request.path_params["id"])
        if not found:
            return _err(404, "call not found")
        company, call = found
        generated = {k: ai.generate(k, call, state.next_id("ai") * 10, body.get("content")) for k in kinds}
        company.ai.setdefault(call["id"], {}).update(generated)
        return JSONResponse(generated)


def state_view(state: State, options: Options) -> dict[str, Any]:
    with state.lock:
        out = []
        for c in state.companies.values():
            out.append(
                company_view(c)
                | {
                    "webhooks": [
                        {k: v for k, v in w.items() if not k.startswith("_")} for w in c.webhooks.values()
                    ],
                    "contacts": [public_contact(x) for x in c.contacts.values()],
                    "calls": {
                        str(k): {"status": v.get("status"), "ended_at": v.get("ended_at")}
                        for k, v in c.calls.items()
                    },
                    "insight_cards": {str(k): v for k, v in c.insight_cards.items()},
                    "comments_posted": {str(k): v for k, v in c.comments_posted.items()},
                    "ai": {str(k): sorted(v) for k, v in c.ai.items()},
                    "requests": {
                        "total": c.requests_total,
                        "limited": c.requests_limited,
                        "by_route": dict(c.requests_by_route),
                    },
                }
            )
        return {"companies": out, "options": {k: v for k, v in vars(options).items()}}


FAULT_KNOBS = ("latency_s", "error_rate", "error_status", "fail_next", "throttle")


def faults_view(faults: Faults) -> dict[str, Any]:
    # Not `Faults.as_dict()`: its `dataclasses.asdict` deep-copies the dataclass's threading.Lock and
    # raises "cannot pickle '_thread.lock'" (bug in sandbox/common.py, worked around here).
    return {k: getattr(faults, k) for k in FAULT_KNOBS}


async def faults_endpoint(request: Request) -> Response:
    """Same contract as `sandbox.common.faults_endpoint`: GET shows the knobs; POST {knob: value, ...}
    changes them; POST {"reset": true, ...} clears them first."""
    faults: Faults = request.app.state.faults
    if request.method == "POST":
        body = await _json(request)
        try:
            if body.pop("reset", False):
                faults.reset()
            faults.update(**body)
        except (ValueError, TypeError) as exc:
            return _err(400, str(exc))
    return JSONResponse(faults_view(faults))


async def dump_state(request: Request) -> Response:
    return JSONResponse(
        state_view(request.app.state.aircall, request.app.state.options)
        | {"faults": faults_view(request.app.state.faults)}
    )
