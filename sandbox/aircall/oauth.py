"""Emulated Aircall OAuth 2.0 (reference §8.2): the install consent `GET /oauth/authorize` (pick the company,
then the numbers to connect; `POST` allows or cancels) and the code exchange `POST /v1/oauth/token`
(permanent token, no refresh). The numbers chosen become the install's `number_ids`
(`/v1/integrations/me`)."""

from __future__ import annotations

import json
import secrets
import time
from html import escape
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from sandbox.aircall.state import Company, OAuthCode, State

_STYLE = (
    "body{font-family:system-ui,sans-serif;background:#f6f7f9;color:#1d2433} main{max-width:34rem;"
    "margin:3rem auto;background:#fff;padding:1.5rem 2rem;border-radius:10px;box-shadow:0 1px 4px #0002} "
    "ul{list-style:none;padding:0} li{padding:.2rem 0} .muted{color:#6b7385} "
    "button{font:inherit;padding:.45rem 1rem}"
)

CODE_TTL_S = 600


def _oauth_error(status: int, error: str, description: str) -> Response:
    # Doorkeeper-style error body (UNCONFIRMED: Aircall's exact token-endpoint error shape).
    return JSONResponse({"error": error, "error_description": description}, status)


def _consent_params(request: Request, form: dict[str, str] | None = None) -> dict[str, str]:
    source = form if form is not None else dict(request.query_params)
    return {
        k: str(source.get(k) or "") for k in ("client_id", "redirect_uri", "response_type", "scope", "state")
    }


def _consent_page(state: State, params: dict[str, str], company: Company | None) -> Response:
    """Aircall's install consent (sandbox): the admin picks the company's numbers to connect, then allows."""
    hidden = "".join(f'<input type="hidden" name="{k}" value="{escape(v)}">' for k, v in params.items() if v)
    if company is None:  # first step: which company installs (the real Dashboard knows it from the login)
        options = "".join(
            f'<option value="{c.id}">{escape(c.name)} (#{c.id})</option>'
            for c in sorted(state.companies.values(), key=lambda c: -c.created_at)
        )
        body = (
            f'<form method="get" action="/oauth/authorize">{hidden}<p><label>Company '
            f'<select name="company_id" id="company">{options}</select></label></p>'
            f'<button type="submit" id="next">Continue</button></form>'
        )
    else:
        numbers = "".join(
            f'<li><label><input type="checkbox" name="number_ids" value="{n["id"]}"> {escape(n["name"])} '
            f'<span class="muted">{escape(n["digits"])}</span></label></li>'
            for n in company.numbers.values()
        )
        body = (
            f"<p>Installing for <strong>{escape(company.name)}</strong>. Which numbers should the app "
            f'connect?</p><form method="post" action="/oauth/authorize">{hidden}'
            f'<input type="hidden" name="company_id" value="{company.id}"><ul id="numbers">{numbers}</ul>'
            f'<button type="submit" name="decision" value="allow" id="authorize">Authorize</button> '
            f'<button type="submit" name="decision" value="deny" id="cancel">Cancel</button></form>'
        )
    page = (
        "<!doctype html><meta charset=utf-8><title>Install app · Aircall sandbox</title>"
        f"<style>{_STYLE}</style>"
        f"<main><h1>Install “{escape(params['client_id'])}” in Aircall</h1>"
        f"<p class=muted>The app asks for access to your company's calls, contacts and numbers "
        f"(scope {escape(params['scope'] or 'public_api')}).</p>{body}</main>"
    )
    return HTMLResponse(page)


def _invalid(state: State, params: dict[str, str]) -> Response | None:
    if params["client_id"] not in state.oauth_clients:
        return HTMLResponse("<h1>Unknown client_id</h1>", 400)
    if params["response_type"] != "code" or not params["redirect_uri"].startswith(("http://", "https://")):
        return HTMLResponse("<h1>response_type=code and an http(s) redirect_uri are required</h1>", 400)
    return None


def _company(state: State, wanted: str | None) -> Company | None:
    companies = list(state.companies.values())
    if wanted:
        return next((c for c in companies if str(c.id) == wanted), None)
    return companies[0] if len(companies) == 1 else None


def _back(params: dict[str, str], query: dict[str, str]) -> Response:
    if params["state"]:
        query["state"] = params["state"]
    sep = "&" if "?" in params["redirect_uri"] else "?"
    return RedirectResponse(f"{params['redirect_uri']}{sep}{urlencode(query)}", 302)


async def authorize(request: Request) -> Response:
    """The consent page (`GET`, reference §8.2 step 2) and the admin's answer (`POST`): `decision=allow` with
    the chosen `number_ids` redirects back with a code; `decision=deny` with `error=access_denied`."""
    state: State = request.app.state.aircall
    form_data = await request.form() if request.method == "POST" else None
    form = {k: str(v) for k, v in form_data.items()} if form_data is not None else None
    picked = (
        [int(str(v)) for v in form_data.getlist("number_ids") if str(v).isascii() and str(v).isdigit()]
        if form_data
        else []
    )
    params = _consent_params(request, form)
    invalid = _invalid(state, params)
    if invalid is not None:
        return invalid
    with state.lock:
        if not state.companies:
            return HTMLResponse(
                "<h1>No sandbox company to install into (create one via /_sandbox/companies)</h1>", 400
            )
        wanted = (form or {}).get("company_id") or request.query_params.get("company_id")
        company = _company(state, wanted)
        if request.method == "GET" or company is None:
            return _consent_page(state, params, company)
        if (form or {}).get("decision") != "allow":
            return _back(params, {"error": "access_denied"})
        code = secrets.token_urlsafe(24)
        state.oauth_codes[code] = OAuthCode(
            code,
            params["client_id"],
            params["redirect_uri"],
            company.id,
            time.time() + CODE_TTL_S,
            number_ids=[n for n in picked if n in company.numbers],
        )
    return _back(params, {"code": code})


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
        # The install is what the admin consented to: its numbers are what `/v1/integrations/me` reports.
        company.integration.update(number_ids=list(grant.number_ids), active=True, status="active")
    # Permanent token, no refresh_token / expires_in. token_type, scope, created_at: UNCONFIRMED extras.
    return JSONResponse(
        {
            "access_token": access_token,
            "token_type": "Bearer",
            "scope": "public_api",
            "created_at": int(time.time()),
        }
    )
