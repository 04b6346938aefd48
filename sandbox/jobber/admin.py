"""Sandbox admin API under `/_sandbox/...` (not part of Jobber): reset, seed, accounts and tokens without a
browser, simulated in-Jobber user actions (client edits, disconnect, deactivation), state dump, webhooks."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sandbox.common import faults_endpoint

from .phone_search import PhoneSearch
from .runtime import LostAnswer, Sandbox
from .schema import serialize_datetime
from .seed import seed_account
from .state import Account, Client, Note, Store, utcnow
from .webhooks import send_webhook


def _sandbox(request: Request) -> Sandbox:
    return request.app.state.jobber  # type: ignore[no-any-return]


async def _json(request: Request) -> dict[str, Any]:
    body = await request.body()
    if not body:
        return {}
    data = await request.json()
    return data if isinstance(data, dict) else {}


def _account_or_404(store: Store, account_id: str | None) -> Account | JSONResponse:
    if account_id is None:
        return store.default_account()
    account = store.accounts.get(account_id)
    return account if account else JSONResponse({"error": f"unknown account {account_id}"}, 404)


def _account_json(account: Account) -> dict[str, Any]:
    return {"id": account.id, "name": account.name, "active": account.active}


async def reset(request: Request) -> JSONResponse:
    _sandbox(request).reset()
    return JSONResponse({"ok": True})


async def seed(request: Request) -> JSONResponse:
    """{"clients": N, "seed": 42, "account_id": optional} -> seeds the account (default: the first one)."""
    sandbox, body = _sandbox(request), await _json(request)
    account = _account_or_404(sandbox.store, body.get("account_id"))
    if isinstance(account, JSONResponse):
        return account
    created = seed_account(sandbox.store, account, int(body.get("clients", 200)), int(body.get("seed", 42)))
    return JSONResponse(
        {"account": _account_json(account), "created": len(created), "total_clients": len(account.clients)}
    )


async def create_account(request: Request) -> JSONResponse:
    """{"name", "owner": {first_name,last_name,email}, "seed_clients", "seed", "access_token_ttl_s",
    "connect"} -> account, owner user and a first token pair (a new app connection); with `"connect": false`,
    no connection and no tokens (an account that has not connected the app yet: see /marketplace)."""
    sandbox, body = _sandbox(request), await _json(request)
    store = sandbox.store
    with store.lock:
        account = store.create_account(body.get("name") or "Sandbox Services Co.", body.get("owner"))
        if body.get("seed_clients"):
            seed_account(store, account, int(body["seed_clients"]), int(body.get("seed", 42)))
        pair: dict[str, Any] = {}
        if body.get("connect", True):
            pair = sandbox.issue_tokens(account, access_token_ttl_s=body.get("access_token_ttl_s"))
        owner = account.users[0]
    return JSONResponse(
        {
            "account": _account_json(account),
            "user": {"id": owner.id, "name": owner.full_name, "email": owner.email},
            "access_token": pair.get("access_token"),
            "refresh_token": pair.get("refresh_token"),
        },
        201,
    )


async def list_accounts(request: Request) -> JSONResponse:
    sandbox = _sandbox(request)
    store = sandbox.store
    with store.lock:
        return JSONResponse(
            [
                {
                    **_account_json(a),
                    "connected": store.account_connected(a.id),
                    "clients": len(a.clients),
                    "graphql_requests": sandbox.request_counts[a.id],
                }
                for a in store.accounts.values()
            ]
        )


async def issue_tokens(request: Request) -> JSONResponse:
    """{"account_id", "access_token_ttl_s", "revoke_previous": false} -> a new connection's token pair."""
    sandbox, body = _sandbox(request), await _json(request)
    with sandbox.store.lock:
        account = _account_or_404(sandbox.store, body.get("account_id"))
        if isinstance(account, JSONResponse):
            return account
        pair = sandbox.issue_tokens(
            account,
            revoke_previous=bool(body.get("revoke_previous", False)),
            access_token_ttl_s=body.get("access_token_ttl_s"),
        )
    return JSONResponse(pair, 201)


async def token_options(request: Request) -> JSONResponse:
    """GET shows, POST {"expires_in": bool, "opaque": bool, "access_token_ttl_s": float,
    "consent_revokes_previous": bool} changes the token knobs for tokens issued from now on: token answers
    with `expires_in`, opaque (non-JWT) access tokens, whether a consent ends the account's earlier
    connections."""
    sandbox = _sandbox(request)
    if request.method == "POST":
        body = await _json(request)
        knobs = sandbox.token_options
        knobs.expires_in = bool(body.get("expires_in", knobs.expires_in))
        knobs.opaque = bool(body.get("opaque", knobs.opaque))
        knobs.access_token_ttl_s = float(body.get("access_token_ttl_s", knobs.access_token_ttl_s))
        knobs.consent_revokes_previous = bool(
            body.get("consent_revokes_previous", knobs.consent_revokes_previous)
        )
    return JSONResponse(sandbox.token_options.__dict__)


async def phone_search(request: Request) -> JSONResponse:
    """GET shows, POST {"reading": "digits" | "substring" | "prefix" | "token" | "digits_exact" |
    "e164_exact", "normalized": bool, "lag_s": float} sets how phone searches match (phone_search.py; keys
    left out keep their value); a reset restores the default."""
    sandbox = _sandbox(request)
    if request.method == "POST":
        body = await _json(request)
        current = sandbox.phone_search
        try:
            wanted = PhoneSearch(
                reading=str(body.get("reading", current.reading)),
                normalized=bool(body.get("normalized", current.normalized)),
                lag_s=float(body.get("lag_s", current.lag_s)),
            )
        except (TypeError, ValueError):
            return JSONResponse({"error": "lag_s must be a number of seconds"}, 400)
        problem = wanted.problem()
        if problem is not None:
            return JSONResponse({"error": problem}, 400)
        sandbox.set_phone_search(wanted)
    return JSONResponse(sandbox.phone_search.__dict__)


async def notes_order(request: Request) -> JSONResponse:
    """GET shows, POST {"default": "newest" | "oldest"} sets the order of `notes` queried without `sort`
    (Jobber's default is UNCONFIRMED); a reset restores the start-up option."""
    sandbox = _sandbox(request)
    if request.method == "POST":
        wanted = (await _json(request)).get("default")
        if wanted not in ("newest", "oldest"):
            return JSONResponse({"error": 'default must be "newest" or "oldest"'}, 400)
        sandbox.notes_default_order = wanted
    return JSONResponse({"default": sandbox.notes_default_order})


async def costs(request: Request) -> JSONResponse:
    """Requested query cost by operation name since the last reset: {name: {operations, mean, max}}."""
    sandbox = _sandbox(request)
    with sandbox.store.lock:
        seen = {name: list(c) for name, c in sandbox.costs.items()}
    return JSONResponse(
        {
            name: {"operations": n, "mean": round(total / n, 1), "max": top}
            for name, (n, total, top) in seen.items()
        }
    )


async def lose_answer(request: Request) -> JSONResponse:
    """POST {"field": "requestCreate", "status": 502}: the next operation selecting that root field is
    executed and committed, then answered with `status` instead of its result (a connection lost after Jobber
    did the work); with `"hang_s": 3` instead, its real answer leaves only after 3 s (the caller's timeout
    fired first). Reset clears it."""
    sandbox, body = _sandbox(request), await _json(request)
    field = body.get("field")
    if not isinstance(field, str) or not field:
        return JSONResponse({"error": "field is required"}, 400)
    with sandbox.store.lock:
        sandbox.lose_answer[field] = LostAnswer(int(body.get("status", 502)), float(body.get("hang_s", 0)))
    return JSONResponse({"lose_answer": {k: v.__dict__ for k, v in sandbox.lose_answer.items()}})


async def disconnect(request: Request) -> JSONResponse:
    """The user clicks Disconnect inside Jobber: tokens die, later API calls answer HTTP 401 "User has
    disconnected this app from their account..." (reference §1.3, §2.6), and APP_DISCONNECT is sent. Body
    `{"webhook": false}`: the webhook is lost (Jobber delivers at least once but never reports failures,
    §4.2), so the app learns it from the API alone."""
    sandbox, body = _sandbox(request), await _json(request)
    account_id = request.path_params["account_id"]
    if account_id not in sandbox.store.accounts:
        return JSONResponse({"error": "unknown account"}, 404)
    grants = sandbox.store.disconnect(account_id)
    if body.get("webhook", True):
        sandbox.emit(account_id, [("APP_DISCONNECT", account_id)])
    return JSONResponse({"disconnected_grants": len(grants)})


async def token_requests(request: Request) -> JSONResponse:
    """`POST /api/oauth/token` requests since the last reset, by grant_type."""
    sandbox = _sandbox(request)
    with sandbox.store.lock:
        return JSONResponse(dict(sandbox.token_requests))


async def set_active(request: Request) -> JSONResponse:
    """{"active": false} -> the account churned: API calls answer "This account is not active"."""
    sandbox, body = _sandbox(request), await _json(request)
    account = sandbox.store.accounts.get(request.path_params["account_id"])
    if account is None:
        return JSONResponse({"error": "unknown account"}, 404)
    account.active = bool(body.get("active", True))
    return JSONResponse(_account_json(account))


async def drain_bucket(request: Request) -> JSONResponse:
    """{"account_id", "available": 0} -> set the account's query-cost bucket level."""
    sandbox, body = _sandbox(request), await _json(request)
    account = _account_or_404(sandbox.store, body.get("account_id"))
    if isinstance(account, JSONResponse):
        return account
    sandbox.buckets.drain(account.id, int(body.get("available", 0)))
    return JSONResponse(sandbox.buckets.status(account.id).as_json())


async def user_creates_client(request: Request) -> JSONResponse:
    """A Jobber user creates a client in the Jobber UI: body uses ClientCreateInput names (+ "tags").
    Fires CLIENT_CREATE."""
    sandbox, body = _sandbox(request), await _json(request)
    store = sandbox.store
    with store.lock:
        account = store.accounts.get(request.path_params["account_id"])
        if account is None:
            return JSONResponse({"error": "unknown account"}, 404)
        client = store.create_client(account, body)
        if body.get("isArchived"):
            client.is_archived = True
    sandbox.emit(account.id, [("CLIENT_CREATE", client.id)])
    return JSONResponse(client_json(store, client), 201)


async def user_edits_client(request: Request) -> JSONResponse:
    """A Jobber user edits a client: {firstName, lastName, companyName, isArchived, phones: [...]
    (replaces the
    client's own phones), tagsToAdd}. Fires CLIENT_UPDATE."""
    sandbox, body = _sandbox(request), await _json(request)
    store = sandbox.store
    with store.lock:
        client = store.clients.get(request.path_params["client_id"])
        if client is None:
            return JSONResponse({"error": "unknown client"}, 404)
        for key, attr in (
            ("firstName", "first_name"),
            ("lastName", "last_name"),
            ("companyName", "company_name"),
            ("isArchived", "is_archived"),
        ):
            if key in body:
                setattr(client, attr, body[key])
        if "phones" in body:
            for p in client.phones:
                store.phones.pop(p.id, None)
            client.phones = []
            for attrs in body["phones"]:
                store.add_phone(client, attrs)
        for label in body.get("tagsToAdd") or []:
            store.add_tag(client, label)
        client.updated_at = utcnow()
        store.touch(client.id)
    sandbox.emit(client.account_id, [("CLIENT_UPDATE", client.id)])
    return JSONResponse(client_json(store, client))


async def user_deletes_client(request: Request) -> JSONResponse:
    """A Jobber user deletes a client (apps cannot). Fires CLIENT_DESTROY."""
    sandbox = _sandbox(request)
    store = sandbox.store
    with store.lock:
        client = store.clients.pop(request.path_params["client_id"], None)
        if client is None:
            return JSONResponse({"error": "unknown client"}, 404)
        store.accounts[client.account_id].clients.pop(client.id, None)
        for p in client.all_phones():
            store.phones.pop(p.id, None)
    sandbox.emit(client.account_id, [("CLIENT_DESTROY", client.id)])
    return JSONResponse({"deleted": client.id})


async def webhooks_config(request: Request) -> JSONResponse:
    """GET: target and recent deliveries. POST {"url": str|null, "topics": [..]|null}: set the target."""
    sandbox = _sandbox(request)
    if request.method == "POST":
        body = await _json(request)
        sandbox.configure_webhooks(body.get("url"), body.get("topics"))
    config = sandbox.store.webhooks
    return JSONResponse({"url": config.url, "topics": config.topics, "deliveries": list(config.deliveries)})


async def webhooks_send(request: Request) -> JSONResponse:
    """{"topic", "account_id", "item_id", "url" (default: configured)} -> send one signed webhook now."""
    sandbox, body = _sandbox(request), await _json(request)
    url = body.get("url") or sandbox.store.webhooks.url
    if not url:
        return JSONResponse({"error": "no webhook url"}, 400)
    account_id = body.get("account_id") or sandbox.store.default_account().id
    response = send_webhook(
        url,
        sandbox.options.client_secret,
        body["topic"],
        account_id,
        body.get("item_id") or account_id,
        app_id=sandbox.options.app_id,
    )
    return JSONResponse({"status": response.status_code})


def _dt(value: Any) -> Any:
    return serialize_datetime(value) if value is not None else None


def _note_json(note: Note) -> dict[str, Any]:
    return {
        "id": note.id,
        "message": note.message,
        "pinned": note.pinned,
        "createdAt": _dt(note.created_at),
        "lastEditedAt": _dt(note.last_edited_at),
        "createdBy": note.created_by[0],
        "attachments": note.attachments,
    }


def client_json(store: Store, client: Client) -> dict[str, Any]:
    return {
        "id": client.id,
        "name": client.name,
        "firstName": client.first_name,
        "lastName": client.last_name,
        "companyName": client.company_name,
        "isCompany": client.is_company,
        "isLead": client.is_lead,
        "isArchived": client.is_archived,
        "balance": client.balance,
        "source": client.source,
        "phones": [
            {
                "id": p.id,
                "number": p.number,
                "normalizedPhoneNumber": p.normalized_phone_number,
                "description": p.description,
                "primary": p.primary,
                "smsAllowed": p.sms_allowed,
                "contactId": p.contact_id,
            }
            for p in client.all_phones()
        ],
        "emails": [
            {"id": e.id, "address": e.address, "primary": e.primary, "contactId": e.contact_id}
            for e in client.all_emails()
        ],
        "contacts": [{"id": c.id, "name": c.name, "role": c.role} for c in client.contacts],
        "tags": [t.label for t in client.tags],
        "customFields": {store.cf_configs[cf.config_id].name: cf.value for cf in client.custom_fields},
        "notes": [_note_json(n) for n in client.notes],
        "requests": [
            {
                "id": r.id,
                "title": r.title,
                "requestStatus": r.request_status,
                "createdAt": _dt(r.created_at),
                "notes": [_note_json(n) for n in r.notes],
            }
            for r in (store.requests[rid] for rid in client.request_ids)
        ],
        "createdAt": _dt(client.created_at),
        "updatedAt": _dt(client.updated_at),
    }


async def state(request: Request) -> JSONResponse:
    """The whole state as JSON; `?account_id=` narrows to one account."""
    store = _sandbox(request).store
    wanted = request.query_params.get("account_id")
    with store.lock:
        accounts = []
        for account in store.accounts.values():
            if wanted and account.id != wanted:
                continue
            accounts.append(
                {
                    **_account_json(account),
                    "connected": store.account_connected(account.id),
                    "users": [{"id": u.id, "name": u.full_name, "email": u.email} for u in account.users],
                    "clients": [client_json(store, c) for c in account.clients.values()],
                    "tasks": [
                        {
                            "id": t.id,
                            "title": t.title,
                            "instructions": t.instructions,
                            "clientId": t.client_id,
                            "startAt": _dt(t.start_at),
                            "assignedTo": t.assigned_to,
                            "createdAt": _dt(t.created_at),
                        }
                        for t in account.tasks
                    ],
                    "grants": [
                        {"id": g.id, "status": g.status, "createdAt": _dt(g.created_at)}
                        for g in store.grants.values()
                        if g.account_id == account.id
                    ],
                }
            )
        return JSONResponse({"accounts": accounts})


ROUTES = [
    Route("/_sandbox/reset", reset, methods=["POST"]),
    Route("/_sandbox/seed", seed, methods=["POST"]),
    Route("/_sandbox/accounts", create_account, methods=["POST"]),
    Route("/_sandbox/accounts", list_accounts, methods=["GET"]),
    Route("/_sandbox/accounts/{account_id}/disconnect", disconnect, methods=["POST"]),
    Route("/_sandbox/accounts/{account_id}/active", set_active, methods=["POST"]),
    Route("/_sandbox/accounts/{account_id}/clients", user_creates_client, methods=["POST"]),
    Route("/_sandbox/clients/{client_id}", user_edits_client, methods=["PATCH", "POST"]),
    Route("/_sandbox/clients/{client_id}", user_deletes_client, methods=["DELETE"]),
    Route("/_sandbox/tokens", issue_tokens, methods=["POST"]),
    Route("/_sandbox/token_options", token_options, methods=["GET", "POST"]),
    Route("/_sandbox/token_requests", token_requests, methods=["GET"]),
    Route("/_sandbox/phone_search", phone_search, methods=["GET", "POST"]),
    Route("/_sandbox/notes_order", notes_order, methods=["GET", "POST"]),
    Route("/_sandbox/lose_answer", lose_answer, methods=["POST"]),
    Route("/_sandbox/costs", costs, methods=["GET"]),
    Route("/_sandbox/bucket", drain_bucket, methods=["POST"]),
    Route("/_sandbox/state", state, methods=["GET"]),
    Route("/_sandbox/webhooks", webhooks_config, methods=["GET", "POST"]),
    Route("/_sandbox/webhooks/send", webhooks_send, methods=["POST"]),
    Route("/_sandbox/faults", faults_endpoint, methods=["GET", "POST"]),
]
