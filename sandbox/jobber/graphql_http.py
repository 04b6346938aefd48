"""`POST /api/graphql`: auth, account state, DDoS limiter, version header, cost/THROTTLED, execution.

Order of checks: bearer token -> connection/account state -> 2,500 req/5 min limiter (HTTP 429) -> version
header -> parse -> requested cost vs. bucket (THROTTLED, HTTP 200) -> execute -> actual cost spent.
"""

from __future__ import annotations

import asyncio
import re
from functools import lru_cache
from typing import Any

from graphql import DocumentNode, FieldNode, GraphQLError, OperationDefinitionNode, parse
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from . import tokens
from .context import Ctx
from .cost import actual_cost, requested_cost
from .runtime import Sandbox
from .schema import get_schema, run

DISCONNECTED = {"message": "User has disconnected this app from their account. Please delete this token"}
INACTIVE = {"error": {"message": "This account is not active"}}
THROTTLED_DOC = "https://developer.getjobber.com/docs/using_jobbers_api/api_rate_limits"
_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def invalid_token() -> JSONResponse:
    # The docs only say the 401 body contains "Invalid Token Error" (reference §1.3); the JSON around it is
    # UNCONFIRMED. Used for a missing, malformed, badly signed, expired or superseded token.
    return JSONResponse({"message": "Invalid Token Error"}, 401)


def _versioning(sandbox: Sandbox, requested: str) -> dict[str, Any]:
    opts = sandbox.options
    newest = max(opts.supported_versions)
    if requested in opts.supported_versions:
        return {"version": requested}
    if requested in opts.unsupported_versions:
        return {
            "version": requested,
            "warning": f"Support for API version {requested} has ended. Upgrade to the latest version "
            f"{newest}.",
        }
    # A removed version is silently upgraded to the oldest supported one (reference §1.2); the warning text
    # is UNCONFIRMED.
    oldest = min(opts.supported_versions)
    return {
        "version": oldest,
        "warning": f"API version {requested} is no longer available; this request was served with version "
        f"{oldest}. Upgrade to the latest version {newest}.",
    }


@lru_cache(maxsize=512)
def _parsed(query: str) -> DocumentNode:
    """A client sends the same few documents over and over: parse each once (documents are not mutated)."""
    return parse(query)


async def graphql_endpoint(request: Request) -> JSONResponse:
    sandbox: Sandbox = request.app.state.jobber
    store = sandbox.store

    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("bearer "):
        return invalid_token()
    try:
        claims = sandbox.verify_access_token(auth[7:].strip())
    except tokens.TokenError:
        return invalid_token()
    with store.lock:
        grant = store.grants.get(str(claims.get("grant_id")))
        account = store.accounts.get(str(claims.get("account_id")))
        if grant is None or account is None or grant.status == "revoked":
            return invalid_token()
        if grant.status == "disconnected":
            # UNCONFIRMED status code; the body is the documented plain JSON (reference §1.3).
            return JSONResponse(DISCONNECTED, 401)
        if not account.active:
            # UNCONFIRMED status code; the body is the documented plain JSON.
            return JSONResponse(INACTIVE, 403)

    sandbox.count_request(account.id)
    if not sandbox.limiter.allow(account.id):
        # HTTP 429 since 2023-06-06 (reference §3.1). Body and the absence of Retry-After are UNCONFIRMED.
        return JSONResponse({"message": "Too Many Requests"}, 429)

    version = request.headers.get("x-jobber-graphql-version", "").strip()
    if not version:
        if sandbox.options.require_version_header:
            # UNCONFIRMED shape: the header is "required for all apps" (reference §1.1); no error text
            # is documented.
            return JSONResponse(
                {
                    "errors": [
                        {
                            "message": "Missing X-JOBBER-GRAPHQL-VERSION header. Send the API "
                            "version as X-JOBBER-GRAPHQL-VERSION: YYYY-MM-DD."
                        }
                    ]
                },
                400,
            )
        version = max(sandbox.options.supported_versions)
    if not _VERSION_RE.match(version) or version > max(sandbox.options.supported_versions):
        # Wording from third-party reports (UNCONFIRMED); status 400 is the sandbox's choice.
        return JSONResponse({"errors": [{"message": f"GraphQL API version '{version}' does not exist"}]}, 400)
    versioning = _versioning(sandbox, version)

    try:
        payload = await request.json()
    except ValueError:
        return JSONResponse(
            {"errors": [{"message": "Invalid JSON body"}], "extensions": {"versioning": versioning}}, 400
        )
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return JSONResponse(
            {
                "errors": [{"message": "No query string was present"}],
                "extensions": {"versioning": versioning},
            },
            200,
        )
    variables = payload.get("variables") or {}
    operation_name = payload.get("operationName")
    try:
        document = _parsed(payload["query"])
    except GraphQLError as exc:
        return JSONResponse({"errors": [exc.formatted], "extensions": {"versioning": versioning}}, 200)

    requested = requested_cost(get_schema(), document, variables, operation_name)
    sandbox.record_cost(_operation_name(document, operation_name), requested)
    if sandbox.faults.throttle or not sandbox.buckets.try_reserve(account.id, requested):
        status = sandbox.buckets.status(account.id)
        body = {
            "errors": [
                {"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": THROTTLED_DOC}}
            ],
            "extensions": {
                "cost": {
                    "requestedQueryCost": requested,
                    "actualQueryCost": 0,
                    "throttleStatus": status.as_json(),
                },
                "versioning": versioning,
            },
        }
        return JSONResponse(
            body, 200
        )  # HTTP status for THROTTLED is UNCONFIRMED; probably 200 (reference §3.2)

    ctx = Ctx(
        store=store,
        account=account,
        user_id=grant.user_id,
        grant_id=grant.id,
        app=sandbox.app,
        web_base=sandbox.options.web_base,
        phone_search=sandbox.phone_search,
        notes_default_order=sandbox.notes_default_order,
    )
    body = await run_in_threadpool(run, document, variables, operation_name, ctx)
    spent = actual_cost(body.get("data"))
    status = sandbox.buckets.spend(account.id, spent)
    body["extensions"] = {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": spent,
            "throttleStatus": status.as_json(),
        },
        "versioning": versioning,
    }
    if ctx.events:
        sandbox.emit(account.id, ctx.events)
    lost = sandbox.answer_lost(_root_fields(document, operation_name))
    if lost is not None and lost.hang_s > 0:
        await asyncio.sleep(lost.hang_s)  # committed; the caller gave up waiting before the answer left
    elif lost is not None:
        # The operation ran and committed; only its answer is lost (fault injection, `/_sandbox/lose_answer`).
        return JSONResponse({"message": "Service temporarily unavailable"}, lost.status)
    return JSONResponse(body, 200)


def _operation_name(document: DocumentNode, operation_name: str | None) -> str:
    if operation_name:
        return operation_name
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            return definition.name.value if definition.name else "(anonymous)"
    return "(none)"


def _root_fields(document: DocumentNode, operation_name: str | None) -> set[str]:
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            operation_name is None or (definition.name and definition.name.value == operation_name)
        ):
            return {s.name.value for s in definition.selection_set.selections if isinstance(s, FieldNode)}
    return set()
