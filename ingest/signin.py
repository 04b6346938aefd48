"""Ways into the settings page that do not start from it (SPEC §2): the one-time sign-in link, the page that
explains how to sign in (where a connect started in Jobber's App Marketplace lands), and Jobber's Manage App
button.

A sign-in link is only read by its GET, which shows the integration it opens and a Sign in button: mail
scanners that prefetch links use nothing and replace no session. The POST (token in the body) uses the link.
Its form carries a value that must match a SameSite=Lax cookie set by the GET, so another site cannot POST a
link of its own and sign this browser into an integration that is not its admin's. A browser signed in to
another integration switches only with an explicit `switch` field; the same integration's session is kept.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from flows.connect import pending_for
from flows.vendors import store_for
from ingest.settings_view import status_of
from ingest.web import (
    LOGIN_COOKIE,
    PENDING_COOKIE,
    current_session,
    is_https,
    message_page,
    redirect,
    render,
    sessions_of,
    set_session_cookie,
    settings_of,
)
from store.integrations import Integration

log = logging.getLogger(__name__)

LOGIN_FORM_MAX_AGE_S = 30 * 60


def _expired(request: Request) -> Response:
    return message_page(
        request,
        "This sign-in link has expired",
        "Sign-in links work once and for a limited time. Open the settings from Aircall again, or ask your "
        "operator for a new link.",
        status=400,
    )


def label(integration: Integration) -> str:
    """How an admin recognises an integration: its Jobber account, else its Aircall company, else its id."""
    if integration.jobber_account is not None:
        return integration.jobber_account.name
    if integration.aircall_company_id:
        return f"Aircall company {integration.aircall_company_id}"
    return f"integration {integration.id}"


def _facts(integration: Integration) -> list[tuple[str, str]]:
    account = integration.jobber_account
    return [
        ("Jobber account", account.name if account else "not connected yet"),
        ("Aircall company", integration.aircall_company_id or "unknown"),
        ("Connected Aircall numbers", str(len(integration.settings.numbers))),
        ("Status", status_of(integration).title),
        ("Installed", integration.created_at[:10]),
    ]


def _uninstalled(request: Request) -> Response:
    return message_page(
        request,
        "Uninstalled",
        "This sign-in link is for an integration that was uninstalled. Reinstall it from "
        "Aircall to log calls and texts again.",
        status=410,
        action={"id": "reinstall", "href": "/install/aircall", "label": "Reinstall from Aircall"},
    )


def _linked(request: Request, token: str) -> Integration | None:
    """The integration a sign-in token opens (the link is not used), or None."""
    integration_id = sessions_of(request).peek_link(token)
    return store_for(settings_of(request)).get(integration_id) if integration_id else None


async def _login_page(request: Request, token: str, integration: Integration, status: int = 200) -> Response:
    """The sign-in page for one link; a new form value (and its cookie) each time it is shown."""
    settings = settings_of(request)
    session = await run_in_threadpool(current_session, request)
    other: str | None = None  # the integration this browser is signed in to, when it is another one
    if session is not None and session.integration_id != integration.id:
        found = await run_in_threadpool(store_for(settings).get, session.integration_id)
        other = label(found) if found is not None else "another integration"
    check = secrets.token_urlsafe(24)
    context: dict[str, Any] = {
        "title": "Sign in",
        "name": label(integration),
        "facts": _facts(integration),
        "token": token,
        "check": check,
        "signed_in_here": session is not None and session.integration_id == integration.id,
        "other": other,
    }
    response = render(request, "login.html", status, **context)
    response.set_cookie(
        LOGIN_COOKIE,
        check,
        max_age=LOGIN_FORM_MAX_AGE_S,
        path="/settings/login",
        httponly=True,
        samesite="lax",
        secure=is_https(settings),
    )
    return response


async def login_page(request: Request) -> Response:
    """GET /settings/login?token=…: name the integration the link opens, with a Sign in button. Uses
    nothing."""
    token = request.query_params.get("token") or ""
    integration = await run_in_threadpool(_linked, request, token)
    if integration is None:
        log.info("settings.login_refused reason=unknown_expired_or_used")
        return _expired(request)
    if integration.status == "deleted":
        return _uninstalled(request)
    return await _login_page(request, token, integration)


async def login(request: Request) -> Response:
    """POST /settings/login (token, the form's check value, optionally `switch`): use the link, open a session
    for its integration, and go to the settings page."""
    settings = settings_of(request)
    sessions = sessions_of(request)
    form = await request.form()
    token, check = form.get("token"), form.get("login_check")
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not (isinstance(check, str) and check and cookie and secrets.compare_digest(check, cookie)):
        log.warning("settings.login_refused reason=form_check")
        return message_page(
            request,
            "This sign-in page has expired",
            "Nothing was changed. Open the sign-in link again.",
            status=403,
        )
    token = token if isinstance(token, str) else ""
    integration = await run_in_threadpool(_linked, request, token)
    if integration is None:
        log.info("settings.login_refused reason=unknown_expired_or_used")
        return _expired(request)
    if integration.status == "deleted":
        return _uninstalled(request)
    session = await run_in_threadpool(current_session, request)
    switching = session is not None and session.integration_id != integration.id
    if switching and form.get("switch") != "1":
        # Signed in to another integration: it is replaced only when the admin says so.
        return await _login_page(request, token, integration, status=409)
    if await run_in_threadpool(sessions.redeem_link, token) != integration.id:
        return _expired(request)  # used meanwhile, by another tab or browser
    response = redirect(f"{settings.PUBLIC_URL}/settings")
    if session is not None and not switching:
        log.info("settings.signed_in integration=%s via=link kept_session=true", integration.id)
        return response
    if session is not None:
        await run_in_threadpool(sessions.end, session)
    cookie_value, _ = await run_in_threadpool(sessions.create, integration.id)
    set_session_cookie(response, settings, cookie_value)
    log.info(
        "settings.signed_in integration=%s via=link switched_from=%s",
        integration.id,
        session.integration_id if session else "-",
    )
    return response


async def sign_in_help(request: Request) -> Response:
    """GET /jobber/sign-in: how to reach the settings page, and the Jobber connection waiting in this browser
    (a connect started in Jobber's App Marketplace). Signed in, straight to the settings page."""
    settings = settings_of(request)
    if await run_in_threadpool(current_session, request) is not None:
        return redirect(f"{settings.PUBLIC_URL}/settings")
    pending = await run_in_threadpool(pending_for, request.cookies.get(PENDING_COOKIE), None, settings)
    return render(
        request,
        "sign_in_help.html",
        200,
        title="Sign in",
        pending=pending,
        can_install=bool(settings.AIRCALL_CLIENT_ID),
    )


async def manage_app(request: Request) -> Response:
    """GET /jobber/manage: Jobber's Manage App URL (jobber-api.md §2.5). Jobber adds an authorization code,
    which is not used: exchanging it would issue the account a new token pair (a reconnect, which can kill
    the live connection's refresh token), and it names a Jobber admin, not the admin of one of our
    integrations. So it signs nobody in: the admin lands on the settings page, or on how to sign in, and the
    code leaves the URL."""
    settings = settings_of(request)
    session = await run_in_threadpool(current_session, request)
    log.info("ingest.jobber.manage_app signed_in=%s", session is not None)
    return redirect(f"{settings.PUBLIC_URL}{'/settings' if session else '/jobber/sign-in'}")
