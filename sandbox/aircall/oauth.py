"""Emulated Aircall OAuth 2.0 (reference §8.2): the consent page `GET /oauth/authorize` (the sandbox
auto-approves for a company) and the code exchange `POST /v1/oauth/token` (permanent token, no refresh)."""

from __future__ import annotations

import json
import secrets
import time
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from sandbox.aircall.state import OAuthCode, State

CODE_TTL_S = 600


def _oauth_error(status: int, error: str, description: str) -> Response:
    # Doorkeeper-style error body (UNCONFIRMED: Aircall's exact token-endpoint error shape).
    return JSONResponse({"error": error, "error_description": description}, status)


async def authorize(request: Request) -> Response:
    """Sandbox consent: `?client_id&redirect_uri&response_type=code&scope=public_api&state[&company_id]`.
    Auto-approves for `company_id` (sandbox extension) or, by default, the most recently created company."""
    state: State = request.app.state.aircall
    q = request.query_params
    client_id, redirect_uri = q.get("client_id", ""), q.get("redirect_uri", "")
    if client_id not in state.oauth_clients:
        return HTMLResponse("<h1>Unknown client_id</h1>", 400)
    if q.get("response_type") != "code" or not redirect_uri.startswith(("http://", "https://")):
        return HTMLResponse("<h1>response_type=code and an http(s) redirect_uri are required</h1>", 400)
    with state.lock:
        companies = list(state.companies.values())
        wanted = q.get("company_id")
        company = next((c for c in companies if str(c.id) == wanted), None) if wanted else None
        if company is None and not wanted and companies:
            company = max(companies, key=lambda c: (c.created_at, c.id))
        if company is None:
            return HTMLResponse(
                "<h1>No sandbox company to install into (create one via /_sandbox/companies)</h1>", 400
            )
        code = secrets.token_urlsafe(24)
        state.oauth_codes[code] = OAuthCode(
            code, client_id, redirect_uri, company.id, time.time() + CODE_TTL_S
        )
    params = {"code": code}
    if "state" in q:
        params["state"] = q["state"]
    sep = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{sep}{urlencode(params)}", 302)


async def token(request: Request) -> Response:
    """JSON body `{grant_type, code, redirect_uri, client_id, client_secret}` (credentials in the body)."""
    state: State = request.app.state.aircall
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return _oauth_error(400, "invalid_request", "Body must be JSON")
    if not isinstance(body, dict):
        return _oauth_error(400, "invalid_request", "Body must be a JSON object")
    client_id, secret = str(body.get("client_id") or ""), str(body.get("client_secret") or "")
    known = state.oauth_clients.get(client_id)
    if known is None or not secrets.compare_digest(known.encode(), secret.encode()):
        return _oauth_error(401, "invalid_client", "Client authentication failed")
    if body.get("grant_type") != "authorization_code":
        return _oauth_error(400, "unsupported_grant_type", "Only authorization_code is supported")
    with state.lock:
        grant = state.oauth_codes.get(str(body.get("code") or ""))
        if (
            grant is None
            or grant.used
            or grant.expires_at < time.time()
            or grant.client_id != client_id
            or grant.redirect_uri != body.get("redirect_uri")
        ):
            return _oauth_error(
                400, "invalid_grant", "The authorization code is invalid, expired or already used"
            )
        grant.used = True
        company = state.companies.get(grant.company_id)
        if company is None:
            return _oauth_error(400, "invalid_grant", "The company no longer exists")
        access_token = state.mint_oauth_token(company)
    # Permanent token, no refresh_token / expires_in. token_type, scope, created_at: UNCONFIRMED extras.
    return JSONResponse(
        {
            "access_token": access_token,
            "token_type": "Bearer",
            "scope": "public_api",
            "created_at": int(time.time()),
        }
    )
