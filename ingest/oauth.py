"""Install and connect pages (SPEC F10): Aircall partner install and Jobber OAuth connect.

These are the only ingest routes that call a vendor: the OAuth code exchange is synchronous by protocol and
a person is waiting on the page. They run the lifecycle functions in a thread, never on the webhook path.
`state` is sealed with SECRET_KEY and expires after 15 minutes.
"""

from __future__ import annotations

import html
import logging
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from clients import jobber_oauth
from clients.aircall import exchange_oauth_code
from clients.errors import VendorError
from config.settings import Settings, get_settings
from store.crypto import open_state, seal_state

log = logging.getLogger("ingest.oauth")


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    doc = (f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title>"
           f"<body style='font-family:system-ui;max-width:40rem;margin:3rem auto'><h1>{html.escape(title)}</h1>{body}</body>")  # fmt: skip
    return HTMLResponse(doc, status)


def _p(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"


def _state_or_error(settings: Settings, request: Request, kind: str) -> dict[str, str] | Response:
    state = request.query_params.get("state")
    if not state:
        # Jobber's Marketplace "Connect" button starts without state (jobber-api.md §2.2): we cannot tell
        # which Aircall integration to connect, so the person is sent to start from the install.
        return page(
            "Start from Aircall",
            _p("Install the integration from Aircall first; it then asks you to connect Jobber."),
            400,
        )
    doc = open_state(settings.secret_key(), state)
    if doc is None or doc.get("kind") != kind:
        return page("This link has expired", _p("Start the installation again."), 400)
    return doc


async def install_aircall(request: Request) -> Response:
    """GET /install/aircall: Aircall opens this when an admin clicks Install; send them to the consent page."""
    settings = get_settings()
    if not settings.AIRCALL_CLIENT_ID:
        return page(
            "Aircall install is not configured", _p("AIRCALL_CLIENT_ID is not set on this service."), 503
        )
    query = {"client_id": settings.AIRCALL_CLIENT_ID, "redirect_uri": f"{settings.PUBLIC_URL}/oauth/aircall/callback",
             "response_type": "code", "scope": "public_api", "state": seal_state(settings.secret_key(), {"kind": "aircall"})}  # fmt: skip
    return RedirectResponse(f"{settings.AIRCALL_OAUTH_URL}/authorize?{urlencode(query)}", 302)


async def aircall_callback(request: Request) -> Response:
    """GET /oauth/aircall/callback: exchange the code, store the integration, register the webhook, then
    continue with the Jobber connection."""
    from tasks.lifecycle import InstallError, install_with_oauth

    settings = get_settings()
    state = _state_or_error(settings, request, "aircall")
    if isinstance(state, Response):
        return state
    code = request.query_params.get("code")
    if not code or not settings.AIRCALL_CLIENT_ID or not settings.AIRCALL_CLIENT_SECRET:
        return page("Aircall install cancelled", _p("No authorization was given."), 400)
    try:
        token = await run_in_threadpool(
            exchange_oauth_code, settings.AIRCALL_API_URL, settings.AIRCALL_CLIENT_ID,
            settings.AIRCALL_CLIENT_SECRET.get_secret_value(), code, f"{settings.PUBLIC_URL}/oauth/aircall/callback",
            settings.HTTP_TIMEOUT_S,
        )  # fmt: skip
        outcome = await run_in_threadpool(install_with_oauth, token, settings)
    except (VendorError, InstallError) as exc:
        log.warning("oauth.aircall.failed error=%s", exc)
        return page("Aircall install failed", _p(str(exc)), 502)
    log.info("oauth.aircall.installed integration=%s", outcome.integration.id)
    return RedirectResponse(
        f"{settings.PUBLIC_URL}/oauth/jobber/connect?integration={outcome.integration.id}", 302
    )


async def jobber_connect(request: Request) -> Response:
    """GET /oauth/jobber/connect?integration=ID: send an admin to Jobber's consent page for that integration."""
    from tasks.vendors import store_for

    settings = get_settings()
    integration_id = request.query_params.get("integration", "")
    integration = store_for(settings).get(integration_id) if integration_id else None
    if integration is None or integration.status == "deleted":
        return page("Unknown integration", _p("This integration does not exist (or was deleted)."), 404)
    if not settings.JOBBER_CLIENT_ID:
        return page(
            "Jobber connect is not configured", _p("JOBBER_CLIENT_ID is not set on this service."), 503
        )
    state = seal_state(settings.secret_key(), {"kind": "jobber", "integration": integration.id})
    query = {"response_type": "code", "client_id": settings.JOBBER_CLIENT_ID,
             "redirect_uri": f"{settings.PUBLIC_URL}/oauth/jobber/callback", "state": state}  # fmt: skip
    return RedirectResponse(f"{settings.JOBBER_OAUTH_URL}/authorize?{urlencode(query)}", 302)


async def jobber_callback(request: Request) -> Response:
    """GET /oauth/jobber/callback: exchange the code (tokens saved before use), read the account, connect."""
    from tasks.lifecycle import InstallError, connect_jobber

    settings = get_settings()
    if not request.query_params:
        # A user who denies comes back with no parameters at all (jobber-api.md §2.2).
        return page(
            "Jobber connection cancelled",
            _p("Nothing was changed. You can connect Jobber again any time."),
            400,
        )
    state = _state_or_error(settings, request, "jobber")
    if isinstance(state, Response):
        return state
    code = request.query_params.get("code")
    if not code or not settings.JOBBER_CLIENT_ID or not settings.JOBBER_CLIENT_SECRET:
        return page("Jobber connection cancelled", _p("No authorization was given."), 400)
    try:
        pair = await run_in_threadpool(
            jobber_oauth.exchange_code, settings.JOBBER_OAUTH_URL, settings.JOBBER_CLIENT_ID,
            settings.JOBBER_CLIENT_SECRET.get_secret_value(), code, f"{settings.PUBLIC_URL}/oauth/jobber/callback",
            timeout=settings.HTTP_TIMEOUT_S,
        )  # fmt: skip
        outcome = await run_in_threadpool(
            connect_jobber, state["integration"], pair.access_token, pair.refresh_token, settings, pair.expires_at
        )  # fmt: skip
    except (VendorError, InstallError, KeyError) as exc:
        log.warning("oauth.jobber.failed integration=%s error=%s", state.get("integration"), exc)
        return page("Jobber connection failed", _p(str(exc)), 502)
    integration = outcome.integration
    account = integration.jobber_account.name if integration.jobber_account else "Jobber"
    body = _p(f"Calls and texts will be logged to {account}.") + "".join(
        _p(f"Note: {w}") for w in outcome.warnings
    )
    log.info("oauth.jobber.connected integration=%s", integration.id)
    return page("Connected to Jobber", body)
