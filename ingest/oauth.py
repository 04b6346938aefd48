"""Install and connect (SPEC F10, §2): Aircall partner install and Jobber OAuth connect, both ending on the
admin's settings page.

These are the only ingest routes besides the settings page that call a vendor: the OAuth code exchange is
synchronous by protocol and a person is waiting on the page, so the lifecycle functions run in a thread,
never on the webhook path.

Who may connect what:
- the Aircall install's `state` is sealed with SECRET_KEY, expires after 15 minutes, and is bound to the
  browser that started the install (a nonce in a short-lived cookie), so a stolen callback URL installs
  nothing in someone else's browser;
- a Jobber connect starts only from an integration's settings session: the integration comes from the
  session (a `?integration=ID` must match it), and the `state` carries a one-time nonce kept in that session;
- a consent that would move the integration to a different Jobber account, or take an account from another
  live integration, waits for the admin's explicit confirmation on the settings page.
"""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from clients import jobber_oauth
from clients.aircall import exchange_oauth_code
from clients.errors import VendorError
from config.settings import Settings
from flows.vendors import store_for
from ingest.web import (
    INSTALL_COOKIE,
    current_session,
    is_https,
    message_page,
    sessions_of,
    set_session_cookie,
    settings_of,
    signed_out,
)
from store.crypto import open_state, seal_state, token_hash
from store.sessions import PendingJobber

log = logging.getLogger("ingest.oauth")

STATE_MAX_AGE_S = 900


def _state(settings: Settings, request: Request, kind: str) -> dict[str, str] | None:
    state = request.query_params.get("state")
    doc = open_state(settings.secret_key(), state, STATE_MAX_AGE_S) if state else None
    return doc if doc is not None and doc.get("kind") == kind else None


async def install_aircall(request: Request) -> Response:
    """GET /install/aircall: Aircall opens this when an admin clicks Install; send them to the consent page."""
    settings = settings_of(request)
    if not settings.AIRCALL_CLIENT_ID:
        return message_page(request, "Aircall install is not configured",
                            "AIRCALL_CLIENT_ID is not set on this service.", status=503)  # fmt: skip
    nonce = secrets.token_urlsafe(16)
    state = seal_state(settings.secret_key(), {"kind": "aircall", "browser": token_hash(nonce)})
    query = {"client_id": settings.AIRCALL_CLIENT_ID, "redirect_uri": f"{settings.PUBLIC_URL}/oauth/aircall/callback",
             "response_type": "code", "scope": "public_api", "state": state}  # fmt: skip
    response = RedirectResponse(f"{settings.AIRCALL_OAUTH_URL}/authorize?{urlencode(query)}", 302)
    response.set_cookie(INSTALL_COOKIE, nonce, max_age=STATE_MAX_AGE_S, path="/oauth/aircall", httponly=True,
                        samesite="lax", secure=is_https(settings))  # fmt: skip
    return response


async def aircall_callback(request: Request) -> Response:
    """GET /oauth/aircall/callback: exchange the code, store the integration (with the numbers the admin
    chose in Aircall), register the webhook, open a settings session, and show the settings page."""
    from flows.lifecycle import InstallError, install_with_oauth

    settings = settings_of(request)
    if request.query_params.get("error"):
        return message_page(request, "Aircall install cancelled", "Nothing was installed.", status=400)
    state = _state(settings, request, "aircall")
    nonce = request.cookies.get(INSTALL_COOKIE, "")
    if state is None or not nonce or not secrets.compare_digest(state.get("browser", ""), token_hash(nonce)):
        return message_page(request, "This install link has expired",
                            "Start the installation again from Aircall.", status=400)  # fmt: skip
    code = request.query_params.get("code")
    if not code or not settings.AIRCALL_CLIENT_ID or not settings.AIRCALL_CLIENT_SECRET:
        return message_page(request, "Aircall install cancelled", "No authorization was given.", status=400)
    try:
        token = await run_in_threadpool(
            exchange_oauth_code, settings.AIRCALL_API_URL, settings.AIRCALL_CLIENT_ID,
            settings.AIRCALL_CLIENT_SECRET.get_secret_value(), code, f"{settings.PUBLIC_URL}/oauth/aircall/callback",
            settings.HTTP_TIMEOUT_S,
        )  # fmt: skip
        outcome = await run_in_threadpool(install_with_oauth, token, settings)
    except (VendorError, InstallError) as exc:
        log.warning("oauth.aircall.failed error=%s", exc)
        return message_page(request, "Aircall install failed", str(exc), status=502)
    integration_id = outcome.integration.id
    log.info("oauth.aircall.installed integration=%s", integration_id)
    cookie, _ = await run_in_threadpool(sessions_of(request).create, integration_id)
    response = RedirectResponse(f"{settings.PUBLIC_URL}/settings?installed=1", 303)
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
        return message_page(request, "Not your integration",
                            "You are signed in to another integration. Nothing was changed.", status=403)  # fmt: skip
    if not settings.JOBBER_CLIENT_ID:
        return message_page(request, "Jobber connect is not configured",
                            "JOBBER_CLIENT_ID is not set on this service.", status=503)  # fmt: skip
    integration = await run_in_threadpool(store_for(settings).get, session.integration_id)
    if integration is None or integration.status == "deleted":
        return message_page(request, "This integration was uninstalled",
                            "Reinstall it from Aircall to connect Jobber again.", status=409)  # fmt: skip
    nonce = await run_in_threadpool(sessions_of(request).new_oauth_nonce, session)
    state = seal_state(
        settings.secret_key(), {"kind": "jobber", "integration": session.integration_id, "nonce": nonce}
    )
    query = {"response_type": "code", "client_id": settings.JOBBER_CLIENT_ID,
             "redirect_uri": f"{settings.PUBLIC_URL}/oauth/jobber/callback", "state": state}  # fmt: skip
    return RedirectResponse(f"{settings.JOBBER_OAUTH_URL}/authorize?{urlencode(query)}", 302)


async def jobber_callback(request: Request) -> Response:
    """GET /oauth/jobber/callback: check the state against the session, exchange the code (tokens saved before
    use), read the account; connect it, or ask the admin to confirm a change of account first."""
    from flows.lifecycle import InstallError, connect_jobber, connection_change, jobber_account_of

    settings = settings_of(request)
    if not request.query_params:
        # A user who denies comes back with no parameters at all (jobber-api.md §2.2).
        return message_page(request, "Jobber connection cancelled",
                            "Nothing was changed. You can connect Jobber again any time.", status=400,
                            back_to_settings=True)  # fmt: skip
    if not request.query_params.get("state"):
        # Jobber's Marketplace "Connect" button starts without state (jobber-api.md §2.2): we cannot tell
        # which Aircall integration to connect, so the person is sent to start from the install.
        return message_page(request, "Start from Aircall",
                            "Install the integration from Aircall first; it then asks you to connect Jobber.",
                            status=400)  # fmt: skip
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
        log.warning("oauth.jobber.callback_refused integration=%s reason=state_not_for_this_session",
                    session.integration_id)  # fmt: skip
        return message_page(request, "This link has expired",
                            "It was used already, or started in another session. Start the connection again "
                            "from the settings page.", status=400, back_to_settings=True)  # fmt: skip
    code = request.query_params.get("code")
    if not code or not settings.JOBBER_CLIENT_ID or not settings.JOBBER_CLIENT_SECRET:
        return message_page(request, "Jobber connection cancelled", "No authorization was given.", status=400,
                            back_to_settings=True)  # fmt: skip
    integration_id = session.integration_id
    try:
        pair = await run_in_threadpool(
            jobber_oauth.exchange_code, settings.JOBBER_OAUTH_URL, settings.JOBBER_CLIENT_ID,
            settings.JOBBER_CLIENT_SECRET.get_secret_value(), code, f"{settings.PUBLIC_URL}/oauth/jobber/callback",
            timeout=settings.HTTP_TIMEOUT_S,
        )  # fmt: skip
        account = await run_in_threadpool(jobber_account_of, pair.access_token, settings)
        change = await run_in_threadpool(connection_change, integration_id, account, settings)
        if change.needs_confirmation:
            pending = PendingJobber(
                pair.access_token, pair.refresh_token, account.id, account.name, pair.expires_at
            )
            await run_in_threadpool(sessions.stash_jobber, session, pending)
            log.info("oauth.jobber.awaiting_confirmation integration=%s", integration_id)
            return RedirectResponse(f"{settings.PUBLIC_URL}/settings#confirm-jobber", 303)
        await run_in_threadpool(connect_jobber, integration_id, pair.access_token, pair.refresh_token, settings,
                                account, pair.expires_at)  # fmt: skip
    except (VendorError, InstallError, KeyError) as exc:
        log.warning("oauth.jobber.failed integration=%s error=%s", integration_id, exc)
        return message_page(request, "Jobber connection failed", str(exc), status=502, back_to_settings=True)
    log.info("oauth.jobber.connected integration=%s", integration_id)
    return RedirectResponse(f"{settings.PUBLIC_URL}/settings?connected=1", 303)
