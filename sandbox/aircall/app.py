"""The Aircall emulator's ASGI app: route table and `create_app(**options)`.

Routes: the Aircall public REST API under `/v1` (+ `/v2/users`), OAuth (`/oauth/authorize`,
`/v1/oauth/token`), the admin API under `/_sandbox`, and the watch page at `/`."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.aircall import admin, api_calls, api_contacts, api_core, oauth, ui
from sandbox.aircall.http import Handler, Options, api
from sandbox.aircall.state import AI_KINDS, State
from sandbox.common import FaultMiddleware, Faults


def _api_routes() -> list[Route]:
    table: list[tuple[str, str, Handler]] = [
        ("GET", "/v1/ping", api_core.ping),
        ("GET", "/v1/company", api_core.company),
        ("GET", "/v1/integrations/me", api_core.integration_me),
        ("POST", "/v1/integrations/enable", api_core.integration_enable),
        ("POST", "/v1/integrations/disable", api_core.integration_disable),
        ("GET", "/v1/numbers", api_core.numbers_list),
        ("GET", "/v1/numbers/{id:int}", api_core.number_get),
        ("GET", "/v1/users", api_core.users_list),
        ("GET", "/v1/users/{id:int}", api_core.user_get),
        ("GET", "/v2/users", api_core.users_v2_list),
        ("POST", "/v1/webhooks", api_core.webhook_create),
        ("GET", "/v1/webhooks", api_core.webhooks_list),
        ("GET", "/v1/webhooks/{webhook_id}", api_core.webhook_get),
        ("PUT", "/v1/webhooks/{webhook_id}", api_core.webhook_update),
        ("DELETE", "/v1/webhooks/{webhook_id}", api_core.webhook_delete),
        ("GET", "/v1/calls", api_calls.calls_list),
        ("GET", "/v1/calls/{id:int}", api_calls.call_get),
        ("POST", "/v1/calls/{id:int}/comments", api_calls.call_comment),
        ("POST", "/v1/calls/{id:int}/insight_cards", api_calls.insight_card),
        ("GET", "/v1/contacts", api_contacts.contacts_list),
        ("GET", "/v1/contacts/search", api_contacts.contacts_search),
        ("POST", "/v1/contacts", api_contacts.contact_create),
        ("GET", "/v1/contacts/{id:int}", api_contacts.contact_get),
        ("POST", "/v1/contacts/{id:int}", api_contacts.contact_update),
        ("DELETE", "/v1/contacts/{id:int}", api_contacts.contact_delete),
    ]
    table += [("GET", f"/v1/calls/{{id:int}}/{kind}", api_calls.ci_endpoint(kind)) for kind in AI_KINDS]
    for sub, kind in (("phone_details", "phone_numbers"), ("email_details", "emails")):
        create, update, delete = api_contacts.detail_endpoints(kind)
        table += [
            ("POST", f"/v1/contacts/{{id:int}}/{sub}", create),
            ("PUT", f"/v1/contacts/{{id:int}}/{sub}/{{detail_id:int}}", update),
            ("DELETE", f"/v1/contacts/{{id:int}}/{sub}/{{detail_id:int}}", delete),
        ]
    return [
        Route(path, api(f"{method} {path.replace(':int', '')}", handler), methods=[method])
        for method, path, handler in table
    ]


def _admin_routes() -> list[Route]:
    return [
        Route("/_sandbox/reset", admin.reset, methods=["POST"]),
        Route("/_sandbox/faults", admin.faults_endpoint, methods=["GET", "POST"]),
        Route("/_sandbox/paging", admin.paging, methods=["GET", "POST"]),
        Route("/_sandbox/state", admin.dump_state, methods=["GET"]),
        Route("/_sandbox/companies", admin.companies, methods=["GET", "POST"]),
        Route("/_sandbox/companies/{id:int}", admin.company_update, methods=["POST"]),
        Route("/_sandbox/companies/{id:int}/oauth_token", admin.oauth_token_for, methods=["POST"]),
        Route("/_sandbox/companies/{id:int}/api_keys", admin.api_key_for, methods=["POST"]),
        Route("/_sandbox/companies/{id:int}/uninstall", admin.uninstall, methods=["POST"]),
        Route("/_sandbox/oauth_clients", admin.oauth_clients, methods=["GET", "POST"]),
        Route("/_sandbox/calls", admin.register_call, methods=["POST"]),
        Route("/_sandbox/calls/{id:int}/end", admin.end_call, methods=["POST"]),
        Route("/_sandbox/calls/{id:int}/ai", admin.generate_ai, methods=["POST"]),
    ]


async def _bad_input(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": "Bad Request", "troubleshoot": str(exc)}, 400)


async def _not_found(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 404)
    title = {404: "Not Found", 405: "Method Not Allowed"}.get(status, "Error")
    return JSONResponse(
        {"error": title, "troubleshoot": f"{request.method} {request.url.path}", "success": False}, status
    )


def create_app(
    *, faults: Faults | None = None, seed_company: dict[str, Any] | None = None, **options: Any
) -> Starlette:
    """Build the emulator. Keyword options (all optional, see `http.Options`):
    rate_limit_per_min=60, rate_window_s=60.0, rate_mode="fixed"|"sliding", rate_headers="limited"|"always",
    ended_call_card_status=400 (None accepts cards on ended calls), require_https_webhooks=False,
    max_webhooks=100, contact_requires_phone=True, search_delay_s=0.0, link_base="https://api.aircall.io",
    paging_ceiling=10000; oauth_clients={client_id: secret} adds OAuth apps.
    `faults`: share a Faults object with the caller; `seed_company`: kwargs of a company made at start."""
    oauth_clients = options.pop("oauth_clients", None) or {}
    known = {f.name for f in fields(Options)}
    unknown = set(options) - known
    if unknown:
        raise TypeError(f"unknown Aircall sandbox options: {sorted(unknown)}")
    opts = Options(**options)
    if opts.rate_mode not in ("fixed", "sliding") or opts.rate_headers not in ("limited", "always"):
        raise ValueError("rate_mode must be fixed|sliding and rate_headers limited|always")
    faults = faults or Faults()
    state = State(
        rate_limit_per_min=opts.rate_limit_per_min, rate_window_s=opts.rate_window_s, rate_mode=opts.rate_mode
    )
    state.oauth_clients.update(oauth_clients)
    if seed_company is not None:
        state.create_company(**seed_company)
    routes = [
        Route("/", ui.page, methods=["GET"]),
        Route("/oauth/authorize", oauth.authorize, methods=["GET", "POST"]),
        Route("/v1/oauth/token", oauth.token, methods=["POST"]),
        *_admin_routes(),
        *_api_routes(),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(FaultMiddleware, faults=faults)],
        exception_handlers={ValueError: _bad_input, TypeError: _bad_input, 404: _not_found, 405: _not_found},
    )
    app.state.aircall = state
    app.state.options = opts
    app.state.faults = faults
    return app
