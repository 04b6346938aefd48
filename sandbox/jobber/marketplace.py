"""The app's listing in Jobber's App Marketplace (reference §2.2, §2.5), as a Jobber admin sees it, per
account: **Connect** while the account is not connected (it starts OAuth *without* `state`, like the real
button, and lands on the app's registered OAuth Callback URL with a code), then **Manage App** (a redirect to
the app's Manage App URL with an authorization code) and **Disconnect**.

The app's URLs are what its developer registers in Jobber's Developer Center: `POST /_sandbox/app
{"oauth_callback_url", "manage_app_url"}` (kept across resets, like the webhook target). Nothing is accepted
that Jobber would refuse: no Connect for an account that is connected (the listing shows Disconnect instead),
no Connect without a registered callback, no Manage App without a Manage App URL or a connection. Clicking
Connect here is the admin's consent (the sandbox does not show a second consent page).
"""

from __future__ import annotations

import time
from html import escape
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from . import tokens
from .oauth import CODE_TTL_S, add_query
from .runtime import Sandbox
from .state import AuthCode

_STYLE = (
    "body{font-family:system-ui,sans-serif;background:#f4f6f5;color:#1d2433} main{max-width:40rem;"
    "margin:3rem auto;background:#fff;padding:1.5rem 2rem;border-radius:10px;box-shadow:0 1px 4px #0002}"
    "li{margin:.6rem 0} a.button,button{font:inherit;padding:.3rem .8rem;margin-left:.5rem}"
    ".meta{color:#5b6775;font-size:.9rem}"
)


def _sandbox(request: Request) -> Sandbox:
    sandbox: Sandbox = request.app.state.jobber
    return sandbox


def _refused(title: str, text: str, status: int = 409) -> HTMLResponse:
    page = (
        f"<!doctype html><meta charset=utf-8><title>{escape(title)} · Jobber sandbox</title>"
        f"<style>{_STYLE}</style>"
        f'<main><h1 id="refused">{escape(title)}</h1><p>{escape(text)}</p>'
        '<p><a href="/marketplace">Back to the App Marketplace</a></p></main>'
    )
    return HTMLResponse(page, status)


async def listing(request: Request) -> HTMLResponse:
    """GET /marketplace: the app's listing, one line per account (in Jobber: the signed-in admin's)."""
    sandbox = _sandbox(request)
    store, urls = sandbox.store, sandbox.app_urls
    rows = []
    with store.lock:
        for account in store.accounts.values():
            aid = escape(account.id)
            if store.account_connected(account.id):
                manage_href = f"/marketplace/manage?account_id={aid}"
                manage = (
                    f'<a class="button" id="manage-{aid}" href="{manage_href}">Manage App</a>'
                    if urls.manage_app_url
                    else ""
                )
                buttons = (
                    f'{manage}<form method="post" action="/marketplace/disconnect" style="display:inline">'
                    f'<input type="hidden" name="account_id" value="{aid}">'
                    f'<button type="submit" id="disconnect-{aid}">Disconnect</button></form>'
                )
                state = "connected"
            else:
                href = f"/marketplace/connect?account_id={aid}"
                buttons = f'<a class="button" id="connect-{aid}" href="{href}">Connect</a>'
                state = "not connected"
            rows.append(f"<li><b>{escape(account.name)}</b> <span class='meta'>{state}</span> {buttons}</li>")
    body = "".join(rows) or "<li>No accounts yet. POST /_sandbox/accounts.</li>"
    page = (
        "<!doctype html><meta charset=utf-8><title>App Marketplace · Jobber sandbox</title>"
        f"<style>{_STYLE}</style>"
        f"<main><h1>App Marketplace: {escape(sandbox.options.app_name)}</h1>"
        f"<p class='meta'>OAuth Callback URL: {escape(urls.oauth_callback_url or 'not registered')}"
        f" · Manage App URL: {escape(urls.manage_app_url or 'not registered')}</p><ul>{body}</ul></main>"
    )
    return HTMLResponse(page)


async def connect(request: Request) -> Response:
    """GET /marketplace/connect?account_id=…: the Connect button. Authorization without `state`, to the
    registered callback."""
    sandbox = _sandbox(request)
    callback = sandbox.app_urls.oauth_callback_url
    account_id = request.query_params.get("account_id", "")
    with sandbox.store.lock:
        if account_id not in sandbox.store.accounts:
            return _refused("Unknown account", "No such Jobber account.", 404)
        if sandbox.store.account_connected(account_id):
            return _refused(
                "Already connected",
                "This account is connected to the app: its listing shows Disconnect, not Connect.",
            )
    if not callback:
        return _refused("The app has no OAuth Callback URL", "Its developer has not registered one.")
    query = {
        "response_type": "code",
        "client_id": sandbox.options.client_id,
        "redirect_uri": callback,
        "account_id": account_id,
    }
    return RedirectResponse(f"/api/oauth/authorize?{urlencode(query)}", 302)


async def manage(request: Request) -> Response:
    """GET /marketplace/manage?account_id=…: the Manage App button: to the Manage App URL with a code."""
    sandbox = _sandbox(request)
    target = sandbox.app_urls.manage_app_url
    store = sandbox.store
    with store.lock:
        account = store.accounts.get(request.query_params.get("account_id", ""))
        if account is None:
            return _refused("Unknown account", "No such Jobber account.", 404)
        if not target or not store.account_connected(account.id):
            return _refused("No Manage App button", "It shows only on a connected app with a Manage App URL.")
        code = tokens.new_auth_code()
        store.auth_codes[code] = AuthCode(
            code=code,
            account_id=account.id,
            user_id=account.users[0].id,
            redirect_uri=target,
            expires_at=time.time() + CODE_TTL_S,
        )
    return RedirectResponse(add_query(target, {"code": code}), 302)


async def disconnect(request: Request) -> Response:
    """POST /marketplace/disconnect (account_id): the Disconnect button
    (as /_sandbox/accounts/{id}/disconnect)."""
    sandbox = _sandbox(request)
    account_id = str((await request.form()).get("account_id", ""))
    if account_id not in sandbox.store.accounts:
        return _refused("Unknown account", "No such Jobber account.", 404)
    sandbox.store.disconnect(account_id)
    sandbox.emit(account_id, [("APP_DISCONNECT", account_id)])
    return RedirectResponse("/marketplace", 303)


async def app_urls(request: Request) -> JSONResponse:
    """GET shows, POST {"oauth_callback_url", "manage_app_url"} registers the app's URLs (the Developer
    Center)."""
    sandbox = _sandbox(request)
    if request.method == "POST":
        body = await request.json()
        for name in ("oauth_callback_url", "manage_app_url"):
            if name in body:
                setattr(sandbox.app_urls, name, body[name] or None)
    return JSONResponse(sandbox.app_urls.__dict__)


ROUTES = [
    Route("/marketplace", listing, methods=["GET"]),
    Route("/marketplace/connect", connect, methods=["GET"]),
    Route("/marketplace/manage", manage, methods=["GET"]),
    Route("/marketplace/disconnect", disconnect, methods=["POST"]),
    Route("/_sandbox/app", app_urls, methods=["GET", "POST"]),
]
