"""Install and connect (SPEC F10, §2): Aircall partner install and Jobber OAuth connect, both ending on the
admin's settings page.

The OAuth code exchanges are synchronous by protocol and a person is waiting on the page, so the flows that
do them (flows/connect.py) run in a thread, never on the webhook path. Codes never reach a log line, and every
callback ends in a redirect to a clean URL.

Who may connect what:
- the Aircall install's `state` is sealed with SECRET_KEY, expires after 15 minutes, and is bound to the
  browser that started the install (a nonce in a short-lived cookie), so a stolen callback URL installs
  nothing in someone else's browser;
- a Jobber connect starts only from an integration's settings session: the integration comes from the
  session (a `?integration=ID` must match it), and the `state` carries a one-time nonce kept in that session;
- a consent that would move the integration to a different Jobber account, or take an account from another
  live integration, waits for the admin's explicit confirmation on the settings page;
- a Jobber callback without our `state` (a connect started in Jobber's App Marketplace) names no integration:
  its grant is held (flows/connect.py), referenced by a cookie of this browser, until a signed-in admin
  attaches it on the settings page, or declines it.
"""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from config.settings import Settings
from flows import connect
from flows.lifecycle import InstallError, connection_change
from flows.vendors import store_for
from ingest.web import (
    INSTALL_COOKIE,
    PENDING_COOKIE,
    clear_pending_cookie,
    current_session,
    is_https,
    message_page,
    redirect,
    sessions_of,
    set_pending_cookie,
    set_session_cookie,
    settings_of,
    signed_out,
)
from store.crypto import open_state, seal_state, token_hash

log = logging.getLogger(__name__)

STATE_MAX_AGE_S = 900


def _state(settings: Settings, request: Request, kind: str) -> dict[str, str] | None:
    state = request.query_params.get("state")
    doc = open_state(settings.secret_key(), state, STATE_MAX_AGE_S) if state else None
    return doc if doc is not None and doc.get("kind") == kind else None


async def install_aircall(request: Request) -> Response:
    """GET /install/aircall: Aircall opens this when an admin clicks Install; send them to the
    consent page."""
    settings = settings_of(request)
    if not settings.AIRCALL_CLIENT_ID:
        return message_page(
            request,
            "Aircall install is not configured",
            "AIRCALL_CLIENT_ID is not set on this service.",
            status=503,
        )
    nonce = secrets.token_urlsafe(16)
    state = seal_state(settings.secret_key(), {"kind": "aircall", "browser": token_hash(nonce)})
    query = {
        "client_id": settings.AIRCALL_CLIENT_ID,
        "redirect_uri": f"{settings.PUBLIC_URL}/oauth/aircall/callback",
        "response_type": "code",
        "scope": "public_api",
        "state": state,
    }
    response = RedirectResponse(f"{settings.AIRCALL_OAUTH_URL}/authorize?{urlencode(query)}", 302)
    response.set_cookie(
        INSTALL_COOKIE,
        nonce,
        max_age=STATE_MAX_AGE_S,
        path="/oauth/aircall",
        httponly=True,
        samesite="lax",
        secure=is_https(settings),
    )
    return response


async def aircall_callback(request: Request) -> Response:
    """GET /oauth/aircall/callback: exchange the code, store the integration (with the numbers the admin
    chose in Aircall), register the webhook, open a settings session, and show the settings page (where a
    Jobber connection waiting in this browser is offered)."""
    settings = settings_of(request)
    if request.query_params.get("error"):
        return message_page(request, "Aircall install cancelled", "Nothing was installed.", status=400)
    state = _state(settings, request, "aircall")
    nonce = request.cookies.get(INSTALL_COOKIE, "")
    if state is None or not nonce or not secrets.compare_digest(state.get("browser", ""), token_hash(nonce)):
        return message_page(
            request, "This install link has expired", "Start the installation again from Aircall.", status=400
        )
    code = request.query_params.get("code")
    if not code:
        return message_page(request, "Aircall install cancelled", "No authorization was given.", status=400)
    try:
        outcome = await run_in_threadpool(connect.install_aircall, code, settings)
    except InstallError as exc:
        log.warning("oauth.aircall.failed error=%s", exc)
        return message_page(request, "Aircall install failed", str(exc), status=502)
    integration_id = outcome.integration.id
    log.info("oauth.aircall.installed integration=%s", integration_id)
    cookie, _ = await run_in_threadpool(sessions_of(request).create, integration_id)
    response = redirect(f"{settings.PUBLIC_URL}/settings?installed=1")
    set_session_cookie(response, settings, cookie)
    response.delete_cookie(INSTALL_COOKIE, path="/oauth/aircall")
    return response


async def jobber_connect(request: Request) -> Response:
    """GET /oauth/jobber/connect: send the signed-in admin to Jobber's consent page for their integration."""
    settings = settings_of(request)
    session = await run_in_threadpool(current_session, request)
    if session is None:
        return signed_out(request)
    asked = request.query_params.get("integration")
    if asked is not None and asked != session.integration_id:
        log.warning("oauth.jobber.connect_refused reason=integration_mismatch")
        return message_page(
            request,
            "Not your integration",
            "You are signed in to another integration. Nothing was changed.",
            status=403,
        )
    if not settings.JOBBER_CLIENT_ID:
        return message_page(
            request,
            "Jobber connect is not configured",
            "JOBBER_CLIENT_ID is not set on this service.",
            status=503,
        )
    integration = await run_in_threadpool(store_for(settings).get, session.integration_id)
    if integration is None or integration.status == "deleted":
        return message_page(
            request,
            "Uninstalled",
            "This integration was uninstalled. Reinstall it from Aircall to connect Jobber again.",
            status=410,
            action={"id": "reinstall", "href": "/install/aircall", "label": "Reinstall from Aircall"},
        )
    nonce = await run_in_threadpool(sessions_of(request).new_oauth_nonce, session)
    state = seal_state(
        settings.secret_key(), {"kind": "jobber", "integration": session.integration_id, "nonce": nonce}
    )
    query = {
        "response_type": "code",
        "client_id": settings.JOBBER_CLIENT_ID,
        "redirect_uri": f"{settings.PUBLIC_URL}/oauth/jobber/callback",
        "state": state,
    }
    return RedirectResponse(f"{settings.JOBBER_OAUTH_URL}/authorize?{urlencode(query)}", 302)


async def jobber_callback(request: Request) -> Response:
    """GET /oauth/jobber/callback: a consent started from the settings page (our `state`, bound to the
    session) connects at once, or waits for the admin's confirmation when the account changes hands; one
    started in Jobber's App Marketplace (no `state`) always waits, for a signed-in admin to attach it."""
    settings = settings_of(request)
    if not request.query_params.get("code"):
        # A user who denies comes back with no parameters at all (jobber-api.md §2.2).
        return message_page(
            request,
            "Jobber connection cancelled",
            "Nothing was changed. You can connect Jobber again any time.",
            status=400,
            back_to_settings=True,
        )
    if not request.query_params.get("state"):
        return await _from_marketplace(request, settings, request.query_params["code"])
    state = _state(settings, request, "jobber")
    if state is None:
        return message_page(request, "This link has expired", "Start the connection again.", status=400)
    sessions = sessions_of(request)
    session = await run_in_threadpool(current_session, request)
    if session is None:
        return signed_out(request)
    if state.get("integration") != session.integration_id or not await run_in_threadpool(
        sessions.take_oauth_nonce, session, state.get("nonce", "")
    ):
        log.warning(
            "oauth.jobber.callback_refused integration=%s reason=state_not_for_this_session",
            session.integration_id,
        )
        return message_page(
            request,
            "This link has expired",
            "It was used already, or started in another session. Start the connection again "
            "from the settings page.",
            status=400,
            back_to_settings=True,
        )
    integration_id = session.integration_id
    try:
        reference, pending = await run_in_threadpool(
            connect.receive_jobber_consent,
            request.query_params["code"],
            settings,
            integration_id=integration_id,
            superseding=request.cookies.get(PENDING_COOKIE),
        )
    except connect.ConnectError as exc:
        log.warning("oauth.jobber.failed integration=%s error=%s", integration_id, exc)
        status = 502 if exc.retryable else 400
        return message_page(
            request, "Jobber connection failed", str(exc), status=status, back_to_settings=True
        )
    change = await run_in_threadpool(connection_change, integration_id, pending.account, settings)
    if change.needs_confirmation:
        log.info("oauth.jobber.awaiting_confirmation integration=%s", integration_id)
        response = redirect(f"{settings.PUBLIC_URL}/settings#confirm-jobber")
        set_pending_cookie(response, settings, reference, connect.HOLD_S)
        return response
    try:
        await run_in_threadpool(connect.attach, reference, integration_id, settings)
    except connect.ConnectError as exc:
        log.warning("oauth.jobber.failed integration=%s error=%s", integration_id, exc)
        response = message_page(
            request,
            "Jobber connection failed",
            str(exc),
            status=502 if exc.retryable else 400,
            back_to_settings=True,
        )
        if exc.retryable:  # still held: the settings page offers it again
            set_pending_cookie(response, settings, reference, connect.HOLD_S)
        return response
    log.info("oauth.jobber.connected integration=%s", integration_id)
    response = redirect(f"{settings.PUBLIC_URL}/settings?connected=1")
    clear_pending_cookie(response, settings)  # a consent it superseded is gone too
    return response


async def _from_marketplace(request: Request, settings: Settings, code: str) -> Response:
    """A connect started in Jobber's App Marketplace: hold the grant for this browser. Signed in, the settings
    page offers it; otherwise the sign-in page explains how to get there."""
    try:
        reference, pending = await run_in_threadpool(
            connect.receive_jobber_consent, code, settings, superseding=request.cookies.get(PENDING_COOKIE)
        )
    except connect.ConnectError as exc:
        log.warning("oauth.jobber.marketplace_failed error=%s", exc)
        again = "Click Connect again on the app's page in Jobber's App Marketplace."
        return message_page(
            request, "Jobber connection failed", str(exc), again, status=502 if exc.retryable else 400
        )
    session = await run_in_threadpool(current_session, request)
    log.info("oauth.jobber.marketplace_held account=%s signed_in=%s", pending.account_id, session is not None)
    target = "/settings#confirm-jobber" if session is not None else "/jobber/sign-in"
    response = redirect(f"{settings.PUBLIC_URL}{target}")
    set_pending_cookie(response, settings, reference, connect.HOLD_S)
    return response
