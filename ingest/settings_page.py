"""The business admin's settings page (SPEC §2 `/settings`): status and its fix, connected numbers, every
per-integration setting, contact sync, the insight card with a live preview, recent activity and replay.

Every route needs the integration's session (sign-in link, or the end of an install or connect); every POST
needs the session's CSRF token. Settings go through `IntegrationSettings.parse`, the CLI's validation:
refused input is shown again with each message next to its field, and nothing is stored. A Jobber connection
waiting in this browser (flows/connect.py: a consent to confirm, or one started in Jobber's App Marketplace)
is offered at the top, to attach or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from config.integration import IntegrationSettings, SettingsError
from config.queues import Task
from config.settings import Settings
from flows import connect
from flows.errors import VendorError
from flows.lifecycle import InstallError, apply_settings, connection_change, disconnect_jobber
from flows.replay import replay, select_for_replay
from flows.vendors import store_for
from ingest import settings_view as view
from ingest.settings_form import card_choices, card_slots, document_from_form, preview_settings
from ingest.settings_view import connected_to_jobber
from ingest.web import (
    PENDING_COOKIE,
    SECURITY_HEADERS,
    SESSION_COOKIE,
    clear_pending_cookie,
    clear_session_cookie,
    csrf_ok,
    csrf_refused,
    current_session,
    message_page,
    redirect,
    render,
    sessions_of,
    settings_of,
    signed_out,
)
from store.integrations import Integration
from store.pending_jobber import PendingJobber
from store.queues import enqueue
from store.sessions import Session

log = logging.getLogger(__name__)

FLASHES = {
    "saved": "Settings saved.",
    "installed": "Aircall is installed. The numbers you chose in Aircall are connected below.",
    "connected": "Connected to Jobber. Calls and texts on the connected numbers will be logged.",
    "replayed": "The failed events were sent again; their outcome appears below in a moment.",
    "sync": "A contact sync has started.",
    "declined": "Nothing was attached, and the connection was removed from that Jobber account.",
    "declined_gone": "Nothing was attached. The connection had already been removed in Jobber.",
    "declined_later": (
        "Nothing was attached. Jobber could not be reached to remove the connection from that "
        "Jobber account; we keep trying for the next two hours (you can also click Disconnect "
        "on the app's page in Jobber)."
    ),
    "declined_kept": (
        "Nothing was attached. That Jobber account stays connected to the Aircall integration that uses it, "
        "which keeps logging."
    ),
    "declined_ended": (
        "Nothing was attached. Jobber had already ended the connection of the integration that used that "
        "Jobber account when you approved it (Jobber allows one connection per account), so the new "
        "connection was removed too: the account is now connected to no integration. Reconnect Jobber from "
        "that integration's settings to resume logging there."
    ),
    "disconnected": (
        "Jobber is disconnected: nothing is logged, and the app was removed from your Jobber account. "
        "Connect Jobber again any time from this page."
    ),
}
DECLINED_FLASH = {
    "disconnected": "declined",
    "already_gone": "declined_gone",
    "later": "declined_later",
    "kept_holder": "declined_kept",
    "holder_ended": "declined_ended",
}


async def _page(
    request: Request,
    session: Session,
    integration: Integration,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    settings = settings_of(request)
    card_settings = integration.settings
    if values is not None:
        # The preview keeps the stored card while the form shows a refused one.
        with contextlib.suppress(SettingsError):
            card_settings = IntegrationSettings.parse(values)
    # The two vendor reads (cached) go side by side.
    (choices, numbers_error), preview = await asyncio.gather(
        run_in_threadpool(view.numbers, integration, settings),
        run_in_threadpool(view.preview, integration, card_settings, settings),
    )
    page = view.Page(
        integration=integration,
        status=view.status_of(integration),
        values=values if values is not None else integration.settings.model_dump(),
        errors=errors or {},
        numbers=choices,
        numbers_error=numbers_error,
        preview=preview,
        sync=await run_in_threadpool(view.sync_run, integration.id),
        recent=await run_in_threadpool(view.recent_activity, integration.id),
        failed=await run_in_threadpool(view.failed_count, integration.id),
        pending=await run_in_threadpool(
            connect.pending_for, request.cookies.get(PENDING_COOKIE), session.integration_id, settings
        ),
        csrf_token=session.csrf_token,
        flash=next((text for key, text in FLASHES.items() if key in request.query_params), ""),
    )
    if page.pending is not None:
        page.extra["pending_notes"] = await run_in_threadpool(
            _pending_notes, page.pending, integration.id, settings
        )
    fields = (page.values.get("insight_card") or {}).get("fields") or []
    return render(
        request,
        "settings.html",
        status,
        page=page,
        slots=card_slots(fields),
        choices=card_choices(preview.custom_labels, fields),
        since=view.since,
    )


def _pending_notes(pending: PendingJobber, integration_id: str, settings: Settings) -> list[str]:
    """What confirming a Jobber consent would change, in words."""
    change = connection_change(integration_id, pending.account, settings)
    notes = []
    if change.replaces is not None:
        notes.append(
            f"This integration logs to the Jobber account “{change.replaces.name}” today. Using "
            f"{pending.account_name} instead sends future calls and texts there; what was already "
            f"logged stays in {change.replaces.name}."
        )
    if change.takes_over:
        notes.append(
            f"{pending.account_name} is connected to another Aircall integration. Jobber allows one "
            "connection per account: that integration stops logging if you continue. Jobber may already "
            "have ended its connection when you approved here: if you keep things as they are, we check "
            "with Jobber; a connection that still works keeps logging there, and one Jobber already "
            "ended has to be reconnected from that integration's settings."
        )
    return notes


async def _live(request: Request) -> tuple[Session, Integration] | Response:
    """The session and its integration; a deleted (or purged) integration's session ends there, on a page that
    says it was uninstalled and how to reinstall."""
    session = await run_in_threadpool(current_session, request)
    if session is None:
        return await _signed_out(request)
    integration = await run_in_threadpool(store_for(settings_of(request)).get, session.integration_id)
    if integration is None or integration.status == "deleted":
        return await _uninstalled(request, session, integration)
    return session, integration


async def _signed_out(request: Request) -> Response:
    """No session: "please sign in", or "uninstalled" when the purge revoked it (store/sessions.py)."""
    sessions = sessions_of(request)
    revoked: bool = await run_in_threadpool(lambda: sessions.was_revoked(request.cookies.get(SESSION_COOKIE)))
    if revoked:
        return await _uninstalled(request, None, None)
    return signed_out(request)


async def _uninstalled(
    request: Request, session: Session | None, integration: Integration | None, *extra: str
) -> Response:
    if session is not None:
        await run_in_threadpool(
            sessions_of(request).end, session
        )  # the integration is gone: so is the session
        log.info("settings.uninstalled_session_ended integration=%s", session.integration_id)
    why = integration.message if integration is not None and integration.message else "It was removed."
    response = message_page(
        request,
        "Uninstalled",
        (
            f"This integration is uninstalled ({why}). Nothing is logged any more, "
            "and its data is being removed."
        ),
        *extra,
        "To log calls and texts again, reinstall it from Aircall.",
        status=410,
        action={"id": "reinstall", "href": "/install/aircall", "label": "Reinstall from Aircall"},
    )
    clear_session_cookie(response, settings_of(request))
    return response


async def show(request: Request) -> Response:
    """GET /settings."""
    live = await _live(request)
    if isinstance(live, Response):
        return live
    return await _page(request, *live)


async def _session_and_form(request: Request) -> tuple[Session, Any, Integration] | Response:
    """A POST's session, form (its CSRF token checked) and live integration."""
    session = await run_in_threadpool(current_session, request)
    if session is None:
        return await _signed_out(request)
    form = await request.form()
    if not csrf_ok(session, form):
        log.warning("settings.csrf_refused integration=%s path=%s", session.integration_id, request.url.path)
        return csrf_refused(request)
    integration = await run_in_threadpool(store_for(settings_of(request)).get, session.integration_id)
    if integration is None or integration.status == "deleted":
        extra: tuple[str, ...] = ()
        if request.url.path == "/settings/jobber/confirm":
            # A Jobber connection waiting here for the deleted integration is removed from the Jobber account.
            declined = await run_in_threadpool(
                connect.decline,
                request.cookies.get(PENDING_COOKIE),
                session.integration_id,
                settings_of(request),
            )
            if declined is not None:
                extra = (FLASHES[DECLINED_FLASH[declined]],)
        response = await _uninstalled(request, session, integration, *extra)
        clear_pending_cookie(response, settings_of(request))
        return response
    return session, form, integration


def _back(request: Request, flash: str) -> Response:
    return RedirectResponse(f"{settings_of(request).PUBLIC_URL}/settings?{flash}=1", 303)


FormHandler = Callable[[Request, Session, FormData, Integration], Awaitable[Response]]


def admin_form(handler: FormHandler) -> Callable[[Request], Awaitable[Response]]:
    """A settings-page POST: it runs only with a session, that session's CSRF token in the form, and a live
    integration (`_session_and_form`); otherwise the admin gets the signed-out, expired-form or uninstalled
    page and nothing changes."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        checked = await _session_and_form(request)
        if isinstance(checked, Response):
            return checked
        session, form, integration = checked
        return await handler(request, session, form, integration)

    return endpoint


@admin_form
async def save(request: Request, session: Session, form: FormData, integration: Integration) -> Response:
    """POST /settings: validate the whole document; store it only when valid."""
    doc = document_from_form(form, integration.settings)
    try:
        new = IntegrationSettings.parse(doc)
    except SettingsError as exc:
        log.info("settings.refused integration=%s problems=%s", integration.id, sorted(exc.problems))
        return await _page(
            request,
            session,
            integration,
            values=doc,
            errors=exc.problems or {"settings": str(exc)},
            status=400,
        )
    await run_in_threadpool(_store_settings, integration.id, integration.settings, new)
    log.info("settings.saved integration=%s via=page", integration.id)
    return _back(request, "saved")


def _store_settings(integration_id: str, before: IntegrationSettings, after: IntegrationSettings) -> None:
    apply_settings(integration_id, before, after)


@admin_form
async def confirm_jobber(
    request: Request, session: Session, form: FormData, _integration: Integration
) -> Response:
    """POST /settings/jobber/confirm: the admin attaches (`decision=connect`) the Jobber connection waiting in
    this browser, or not, which removes it from the Jobber account."""
    settings = settings_of(request)
    reference = request.cookies.get(PENDING_COOKIE)
    if form.get("decision") != "connect":
        declined = await run_in_threadpool(connect.decline, reference, session.integration_id, settings)
        response = (
            _nothing_to_confirm(request) if declined is None else _back(request, DECLINED_FLASH[declined])
        )
        clear_pending_cookie(response, settings)
        return response
    try:
        await run_in_threadpool(connect.attach, reference, session.integration_id, settings)
    except connect.ConnectError as exc:
        log.info("settings.jobber_attach_failed integration=%s error=%s", session.integration_id, exc)
        failed = message_page(
            request,
            "Nothing was attached",
            str(exc),
            status=502 if exc.retryable else 400,
            back_to_settings=True,
        )
        if not exc.retryable:
            clear_pending_cookie(failed, settings)
        return failed
    await run_in_threadpool(view.forget_vendor_cache, session.integration_id)
    log.info("settings.jobber_attached integration=%s", session.integration_id)
    response = _back(request, "connected")
    clear_pending_cookie(response, settings)
    return response


def _nothing_to_confirm(request: Request) -> Response:
    return message_page(
        request,
        "Nothing to confirm",
        "The Jobber connection to confirm has expired; connect Jobber again from the settings page.",
        status=400,
        back_to_settings=True,
    )


@admin_form
async def replay_failed(
    request: Request, session: Session, _form: FormData, _integration: Integration
) -> Response:
    """POST /settings/replay: the integration's dead letters go again, as `ajctl events replay --all
    --integration ID` does (same selection, same replay, same idempotency)."""

    def run() -> int:
        selected, _ = select_for_replay([], session.integration_id, None)
        for dead_id in selected:
            replay(dead_id)
        return len(selected)

    count = await run_in_threadpool(run)
    log.info("settings.replayed integration=%s count=%d", session.integration_id, count)
    return _back(request, "replayed")


@admin_form
async def sync_now(
    request: Request, _session: Session, _form: FormData, integration: Integration
) -> Response:
    """POST /settings/sync: a contact sync of what changed since the last one, in the background."""
    if not (integration.is_active and integration.settings.contact_sync):
        return message_page(
            request, "Contact sync is off", "Turn contact sync on first.", status=409, back_to_settings=True
        )
    await run_in_threadpool(enqueue, Task.SYNC_SWEEP, [integration.id], tenant=integration.id)
    return _back(request, "sync")


@admin_form
async def logout(request: Request, session: Session, _form: FormData, _integration: Integration) -> Response:
    """POST /settings/logout."""
    await run_in_threadpool(sessions_of(request).end, session)
    response = message_page(request, "Signed out", "Open the settings from Aircall to sign in again.")
    clear_session_cookie(response, settings_of(request))
    return response


async def card_preview(request: Request) -> Response:
    """GET /settings/card-preview?card_mode=custom&card_field=email,phone: the live preview's card items."""
    session = await run_in_threadpool(current_session, request)
    if session is None:
        return JSONResponse({"error": "signed out"}, 401, headers=SECURITY_HEADERS)
    settings = settings_of(request)
    integration = await run_in_threadpool(store_for(settings).get, session.integration_id)
    if integration is None or integration.status == "deleted":
        return JSONResponse({"error": "uninstalled"}, 410, headers=SECURITY_HEADERS)
    wanted = preview_settings(request.query_params, integration.settings)
    found = await run_in_threadpool(view.preview, integration, wanted, settings)
    body = {"client": found.client_name, "items": found.items, "unavailable": found.unavailable}
    return JSONResponse(body, headers=SECURITY_HEADERS)


async def disconnect_page(request: Request) -> Response:
    """GET /settings/jobber/disconnect: what disconnecting Jobber does, and the button (a POST)
    that does it."""
    live = await _live(request)
    if isinstance(live, Response):
        return live
    session, integration = live
    if not connected_to_jobber(integration):
        return redirect(f"{settings_of(request).PUBLIC_URL}/settings")
    account = integration.jobber_account.name if integration.jobber_account else "your Jobber account"
    return render(
        request,
        "disconnect_jobber.html",
        200,
        title="Disconnect Jobber",
        account=account,
        csrf_token=session.csrf_token,
    )


@admin_form
async def disconnect(
    request: Request, session: Session, form: FormData, _integration: Integration
) -> Response:
    """POST /settings/jobber/disconnect (confirmed on its page): `appDisconnect`, tokens dropped, inactive."""
    if form.get("confirm") != "1":
        return redirect(f"{settings_of(request).PUBLIC_URL}/settings/jobber/disconnect")
    try:
        outcome = await run_in_threadpool(disconnect_jobber, session.integration_id, settings_of(request))
    except InstallError:
        return await _uninstalled(request, session, None)
    except VendorError as exc:
        log.warning("settings.jobber_disconnect_failed integration=%s error=%s", session.integration_id, exc)
        return message_page(
            request,
            "Jobber could not be reached",
            "Nothing was changed: Jobber is still connected. Try again in a moment.",
            status=502,
            back_to_settings=True,
        )
    await run_in_threadpool(view.forget_vendor_cache, session.integration_id)
    log.info("settings.jobber_disconnected integration=%s outcome=%s", session.integration_id, outcome)
    return _back(request, "disconnected")
