"""OAuth 2.0 authorization-code grant (reference §2): `GET /api/oauth/authorize` shows the consent page (pick
the account, allow or cancel), `POST /api/oauth/token` exchanges codes and rotates refresh tokens. No
`expires_in` in token responses, unless the `expires_in` token option is on (`POST /_sandbox/token_options`).

Sandbox shortcuts on `GET /authorize`: `account_id=<EncodedId>` approves at once for that account, `deny=1`
simulates a user who denies (redirect with no query parameters). Once the app's OAuth Callback URL is
registered (`POST /_sandbox/app`), any other `redirect_uri` is refused. The App Marketplace's Connect button
(marketplace.py) starts here without `state`.
"""

from __future__ import annotations

import time
from html import escape
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from . import tokens
from .runtime import Sandbox
from .state import AuthCode

CODE_TTL_S = 600


def add_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _error(error: str, description: str, status: int) -> JSONResponse:
    # Doorkeeper-style error JSON (Jobber's OAuth server); exact texts and statuses are UNCONFIRMED.
    return JSONResponse({"error": error, "error_description": description}, status)


_STYLE = (
    "body{font-family:system-ui,sans-serif;background:#f4f6f5;color:#1d2433} main{max-width:32rem;"
    "margin:3rem auto;background:#fff;padding:1.5rem 2rem;border-radius:10px;box-shadow:0 1px 4px #0002}"
    "label{display:block;padding:.25rem 0} button{font:inherit;padding:.45rem 1rem}"
)


def _consent_page(sandbox: Sandbox, params: dict[str, str]) -> Response:
    """Jobber's login + "Allow access" page (sandbox): the person picks which account approves."""
    keep = ("response_type", "client_id", "redirect_uri", "state")
    hidden = "".join(
        f'<input type="hidden" name="{k}" value="{escape(params[k])}">' for k in keep if k in params
    )
    with sandbox.store.lock:
        accounts = list(sandbox.store.accounts.values()) or [sandbox.store.default_account()]
        choices = "".join(
            f'<label><input type="radio" name="account_id" value="{escape(a.id)}"'
            f"{' checked' if i == 0 else ''}> {escape(a.name)}</label>"
            for i, a in enumerate(accounts)
        )
    page = (
        "<!doctype html><meta charset=utf-8><title>Connect app · Jobber sandbox</title>"
        f"<style>{_STYLE}</style>"
        f"<main><h1>Allow access to your Jobber account?</h1><p>The app will read and write clients, notes, "
        f'requests and tasks.</p><form method="post" action="/api/oauth/authorize">{hidden}{choices}'
        f'<p><button type="submit" name="decision" value="allow" id="allow">Allow access</button> '
        f'<button type="submit" name="decision" value="deny" id="deny">Cancel</button></p></form></main>'
    )
    return HTMLResponse(page)


async def authorize(request: Request) -> Response:
    """`GET` shows the consent page; `POST` is the person's answer. Sandbox shortcuts on `GET`: `account_id`
    approves for that account at once, `deny=1` denies at once (scripted tests)."""
    sandbox: Sandbox = request.app.state.jobber
    params: dict[str, str] = dict(request.query_params)
    if request.method == "POST":
        params = {k: str(v) for k, v in (await request.form()).items()}
        if params.get("decision") != "allow":
            params["deny"] = "1"
    redirect_uri = params.get("redirect_uri", "")
    if params.get("response_type") != "code" or params.get("client_id") != sandbox.options.client_id:
        return _error("invalid_request", "Unknown client or unsupported response_type", 400)
    if not redirect_uri:
        return _error("invalid_redirect_uri", "redirect_uri is required", 400)
    registered = sandbox.app_urls.oauth_callback_url
    if registered and redirect_uri != registered:
        # It must match the app's OAuth Callback URL exactly (reference §2.3); Jobber shows an error page.
        return _error("invalid_redirect_uri", "The redirect uri included is not valid.", 400)
    if params.get("deny"):
        # A user who denies is sent back with no query parameters at all (reference §2.2).
        return RedirectResponse(urlunsplit(urlsplit(redirect_uri)._replace(query="")), 302)
    if request.method == "GET" and not params.get("account_id"):
        return _consent_page(sandbox, params)
    store = sandbox.store
    with store.lock:
        account = store.accounts.get(params.get("account_id", "")) or store.default_account()
        code = tokens.new_auth_code()
        store.auth_codes[code] = AuthCode(
            code=code,
            account_id=account.id,
            user_id=account.users[0].id,
            redirect_uri=redirect_uri,
            expires_at=time.time() + CODE_TTL_S,
        )
    query = {"code": code}
    if params.get("state") is not None:
        # The Marketplace "Connect" button starts the flow without state: then none comes back (§2.2).
        query["state"] = params["state"]
    return RedirectResponse(add_query(redirect_uri, query), 302)


async def token(request: Request) -> JSONResponse:
    sandbox: Sandbox = request.app.state.jobber
    raw = (await request.body()).decode("utf-8", "replace")
    form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
    if (
        form.get("client_id") != sandbox.options.client_id
        or form.get("client_secret") != sandbox.options.client_secret
    ):
        return _error("invalid_client", "Client authentication failed", 401)
    grant_type = form.get("grant_type")
    store = sandbox.store
    with store.lock:
        sandbox.token_requests[str(grant_type)] += 1
    if grant_type == "authorization_code":
        with store.lock:
            code = store.auth_codes.pop(form.get("code", ""), None)  # single use
            if code is None or code.expires_at < time.time():
                return _error(
                    "invalid_grant", "The authorization code is invalid, expired or already used", 401
                )
            if form.get("redirect_uri") != code.redirect_uri:
                return _error("invalid_grant", "redirect_uri does not match the one used to authorize", 401)
            account = store.accounts[code.account_id]
            # One connection per (app, account): re-authorizing kills the previous grant's tokens
            # (§2.5), unless the `consent_revokes_previous` token option says otherwise
            # (the UNCONFIRMED other reading).
            pair = sandbox.issue_tokens(
                account, user_id=code.user_id, revoke_previous=sandbox.token_options.consent_revokes_previous
            )
            account_id = account.id
        sandbox.emit(account_id, [("APP_CONNECT", account_id)])
        return JSONResponse({k: v for k, v in pair.items() if k not in ("account_id", "user_id")})
    if grant_type == "refresh_token":
        with store.lock:
            new_refresh = tokens.new_refresh_token()
            grant = store.rotate(form.get("refresh_token", ""), new_refresh)
            if grant is None:
                # Rotation: a used, rotated-away or disconnected refresh token is dead (reference §2.4).
                return _error(
                    "invalid_grant", "The refresh token is invalid, expired, revoked or already used", 401
                )
            body = sandbox.token_response(grant, new_refresh)
        return JSONResponse(body)
    return _error("unsupported_grant_type", "grant_type must be authorization_code or refresh_token", 400)
