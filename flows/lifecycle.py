"""Integration lifecycle (SPEC F10): install with API credentials, delete (CLI or Aircall's
`integration.deleted`). OAuth installs and Jobber disconnects build on the same functions."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlencode

from clients.aircall import AircallClient
from clients.errors import Disconnected, Permanent, VendorError
from clients.jobber import Unauthorized
from config.integration import IntegrationSettings
from config.queues import Task
from config.settings import Settings, get_settings
from flows.vendors import aircall_for, jobber_client, jobber_for, mark_jobber_disconnected, store_for
from store.backfill import ReconcileWatermark
from store.integrations import Integration, IntegrationStore, JobberAccount
from store.ledger import Ledger
from store.queues import enqueue
from store.redis import sync_client
from store.sessions import SessionStore

log = logging.getLogger(__name__)

WEBHOOK_NAME = "Jobber integration"


class InstallError(RuntimeError):
    """The install cannot proceed; nothing was stored and no webhook is left behind."""


@dataclass
class Outcome:
    integration: Integration
    warnings: list[str] = field(default_factory=list)


def install_with_api_key(
    *,
    api_id: str,
    api_token: str,
    jobber_access_token: str | None,
    jobber_refresh_token: str | None,
    integration_settings: IntegrationSettings,
    settings: Settings | None = None,
) -> Outcome:
    """Check both vendors' credentials, store the integration, register the Aircall webhook,
    connect Jobber."""
    settings = settings or get_settings()
    aircall = AircallClient(
        settings.AIRCALL_API_URL, api_id=api_id, api_token=api_token, timeout=settings.HTTP_TIMEOUT_S
    )
    account = None
    if jobber_access_token:
        if not jobber_refresh_token:
            raise InstallError("--jobber-refresh-token is required with --jobber-access-token")
        account = _jobber_account(jobber_access_token, settings)  # checked before anything is stored
    integration = _install_aircall(aircall, api_id, api_token, "basic", integration_settings, settings)
    if account and jobber_access_token and jobber_refresh_token:
        return _connect(integration.id, account, jobber_access_token, jobber_refresh_token, settings)
    return _await_jobber(integration.id, settings)


def install_with_oauth(access_token: str, settings: Settings | None = None) -> Outcome:
    """Aircall partner install (aircall-api.md §8.2): the permanent OAuth token is stored and the webhook
    registered; the numbers the admin chose in Aircall's install become the connected numbers; the
    integration waits for its Jobber connection."""
    settings = settings or get_settings()
    aircall = AircallClient(
        settings.AIRCALL_API_URL, bearer_token=access_token, timeout=settings.HTTP_TIMEOUT_S
    )
    try:
        chosen = aircall.integration_me().number_ids
    except VendorError as exc:
        # The install still works; the admin picks the numbers on the settings page instead.
        log.warning("lifecycle.install.numbers_unknown error=%s", exc)
        chosen = []
    initial = IntegrationSettings(numbers=chosen)
    integration = _install_aircall(aircall, None, access_token, "bearer", initial, settings)
    return _await_jobber(integration.id, settings)


@dataclass(frozen=True)
class ConnectionChange:
    """What connecting `account` to an integration would change, for the admin to confirm first."""

    account: JobberAccount
    replaces: JobberAccount | None  # the integration was connected to a different Jobber account
    takes_over: bool  # another live integration holds this account: it will be deactivated

    @property
    def needs_confirmation(self) -> bool:
        return self.replaces is not None or self.takes_over


def jobber_account_of(access_token: str, settings: Settings | None = None) -> JobberAccount:
    """The Jobber account a fresh access token belongs to (checked before anything is stored)."""
    return _jobber_account(access_token, settings or get_settings())


def connection_change(
    integration_id: str, account: JobberAccount, settings: Settings | None = None
) -> ConnectionChange:
    store = store_for(settings or get_settings())
    integration = store.require(integration_id)
    before = integration.jobber_account
    holder_id = store.id_for_jobber_account(account.id)
    holder = store.get(holder_id) if holder_id and holder_id != integration_id else None
    return ConnectionChange(
        account=account,
        replaces=before if before is not None and before.id != account.id else None,
        takes_over=holder is not None and holder.status in ("active", "needs_reconnect"),
    )


def connect_jobber(
    integration_id: str,
    access_token: str,
    refresh_token: str,
    settings: Settings | None = None,
    account: JobberAccount | None = None,
    expires_at: float | None = None,
) -> Outcome:
    """Jobber OAuth finished for an integration: read the account (unless already read), store
    the tokens, take the account's one connection (an older integration on the same account
    becomes inactive, with a warning). `expires_at`: the access token's expiry when the token
    answer gave it (`TokenPair.expires_at`)."""
    settings = settings or get_settings()
    integration = store_for(settings).require(integration_id)
    if integration.status == "deleted":
        raise InstallError(f"integration {integration_id} was deleted")
    account = account or _jobber_account(access_token, settings)
    return _connect(integration_id, account, access_token, refresh_token, settings, expires_at)


def _jobber_account(access_token: str, settings: Settings) -> JobberAccount:
    try:
        found = jobber_client(access_token, settings).account()
    except VendorError as exc:
        raise InstallError(f"Jobber rejected the access token: {exc}") from None
    return JobberAccount(id=found.id, name=found.name)


def _install_aircall(
    aircall: AircallClient,
    api_id: str | None,
    token: str,
    auth: Literal["basic", "bearer"],
    integration_settings: IntegrationSettings,
    settings: Settings,
) -> Integration:
    store = store_for(settings)
    try:
        company = aircall.company_identity(api_id)
    except VendorError as exc:
        raise InstallError(f"Aircall rejected the credentials: {exc}") from None
    company_id = company.company_id
    integration = store.create(
        aircall_api_id=api_id,
        aircall_token=token,
        aircall_auth=auth,
        aircall_company_id=company_id,
        settings=integration_settings,
        aircall_budget_key=company.budget_key,
    )
    try:
        webhook = aircall.create_webhook(f"{settings.PUBLIC_URL}/webhooks/aircall", WEBHOOK_NAME)
    except VendorError as exc:
        store.mark_deleted(integration.id, f"install failed: {exc}")
        raise InstallError(f"Aircall webhook registration failed: {exc}") from None
    try:
        store.bind_webhook(integration.id, webhook.id, webhook.token)
    except Exception:
        aircall.delete_webhook(webhook.id)  # never leave an orphan webhook sending to us
        raise
    log.info("lifecycle.installed integration=%s company=%s auth=%s", integration.id, company_id, auth)
    return integration


def _connect(
    integration_id: str,
    account: JobberAccount,
    access: str,
    refresh: str,
    settings: Settings,
    expires_at: float | None = None,
) -> Outcome:
    store = store_for(settings)
    try:
        # One step: the pair saved (before any use), the account taken, the previous holder's tokens dropped.
        previous = store.connect_jobber(integration_id, account, access, refresh, expires_at)
    except KeyError:
        raise InstallError(f"integration {integration_id} was deleted") from None
    ReconcileWatermark(store.r, integration_id).start(time.time())  # reconciliation starts now, not before
    # Aircall shows the install as active again (it was disabled on a disconnect); the one it replaced, not.
    enqueue(Task.AIRCALL_ACTIVATION, [integration_id], tenant=integration_id)
    if previous:
        enqueue(Task.AIRCALL_ACTIVATION, [previous], tenant=previous)
    if store.require(integration_id).settings.contact_sync:
        # Connected with contact sync on: backfill every client (SPEC F8), in the background.
        enqueue(Task.SYNC_SWEEP, [integration_id], {"full": True}, tenant=integration_id)
    warnings = []
    if previous:
        warnings.append(
            f"Jobber account {account.name} ({account.id}) was connected to integration {previous}; "
            "that integration is now inactive (Jobber allows one connection per account)"
        )
    return _finish(integration_id, warnings, store)


def _await_jobber(integration_id: str, settings: Settings) -> Outcome:
    store = store_for(settings)
    todo = (
        "Jobber is not connected yet: connect it from the integration's settings page "
        f"(a sign-in link: ajctl integrations link {integration_id})"
    )
    store.set_status(integration_id, "inactive", todo, reason="jobber_not_connected")
    return _finish(integration_id, [todo], store)


def _finish(integration_id: str, warnings: list[str], store: IntegrationStore) -> Outcome:
    if not store.require(integration_id).settings.numbers:
        warnings.append(
            "no Aircall numbers are connected (settings.numbers is empty): nothing will be logged"
        )
    store.set_warnings(integration_id, warnings)
    return Outcome(store.require(integration_id), warnings)


def delete_integration(integration_id: str, reason: str, settings: Settings | None = None) -> Outcome:
    """Disconnect from Jobber (`appDisconnect`, only while this integration holds the account: with another
    integration's connection to it, that would disconnect the account from the integration that owns it now),
    delete the Aircall webhook, mark deleted, and start the purge of the tenant's data. Idempotent."""
    settings = settings or get_settings()
    store = store_for(settings)
    integration = store.require(integration_id)
    warnings: list[str] = []
    if integration.status == "deleted":
        return Outcome(integration, ["already deleted"])
    secrets = store.secrets(integration_id)
    account = integration.jobber_account
    holder = store.id_for_jobber_account(account.id) if account else None
    if secrets.jobber_access_token and account and holder == integration_id:
        try:
            # jobber_for refreshes an expired access token: the app must really be disconnected in Jobber.
            jobber_for(integration, settings).app_disconnect()
        except (Disconnected, Unauthorized) as exc:
            # The token is already dead on Jobber's side: the disconnect we wanted has happened.
            warnings.append(f"Jobber was already disconnected: {exc}")
    elif account and holder and holder != integration_id:
        warnings.append(
            f"Jobber account {account.id} is connected to integration {holder} now: left connected"
        )
    if integration.aircall_webhook_id and secrets.aircall_token:
        aircall = aircall_for(integration, settings)
        try:
            if integration.aircall_auth == "bearer":
                aircall.set_integration_active(False)  # aircall-api.md §8.2: disable on uninstall
            aircall.delete_webhook(integration.aircall_webhook_id)
        except Disconnected as exc:
            warnings.append(f"Aircall webhook not deleted (credentials revoked): {exc}")
    if store.mark_deleted(integration_id, reason):
        enqueue(Task.PURGE, [], tenant="")  # the rest of its data, in the background (fleet-wide work)
    log.info("lifecycle.deleted integration=%s reason=%s", integration_id, reason)
    return Outcome(store.require(integration_id), warnings)


API_KEY_UNINSTALL_SKIP = (
    "integration.deleted for an API-key install is not acted on (any API key of the Aircall company can read "
    "its webhook token, so the event proves nothing); an operator deletes it with `ajctl integrations delete`"
)


def integration_deleted(event_id: str) -> None:
    """Aircall uninstalled the integration. Trigger: `integration.deleted`. Acted on only for OAuth installs
    (Aircall sends it only for OAuth-created webhooks, aircall-api.md §8.2) and only once Aircall confirms:
    `/v1/integrations/me` refuses the install's token. The webhook token alone proves little: an API key of
    the company can read it. Idempotency: delete is idempotent (a second run finds it deleted). Retries:
    IntegrationTask (Aircall unreachable)."""
    settings = get_settings()
    ledger = Ledger(sync_client())
    entry = ledger.get(event_id) or {}
    integration = store_for(settings).get(entry.get("integration", ""))
    if integration is None or integration.status == "deleted":
        ledger.set_outcome(event_id, "done", "already deleted")
        return
    why = _not_uninstalled(integration, entry, settings)
    if why:
        ledger.record_skip(event_id, why)
        log.warning(
            "lifecycle.uninstall_skipped integration=%s event=%s reason=%s", integration.id, event_id, why
        )
        return
    delete_integration(integration.id, "Uninstalled from Aircall", settings)
    ledger.set_outcome(event_id, "done")


def _not_uninstalled(integration: Integration, entry: dict[str, str], settings: Settings) -> str:
    """Why this `integration.deleted` is not acted on, or "" when Aircall confirms the uninstall."""
    if integration.aircall_auth != "bearer":
        return API_KEY_UNINSTALL_SKIP
    try:
        company = (json.loads(entry.get("raw") or "{}").get("data") or {}).get("company_id")
    except ValueError:
        company = None
    if (
        company is not None
        and integration.aircall_company_id
        and str(company) != integration.aircall_company_id
    ):
        return f"integration.deleted names Aircall company {company}, not this install's"
    try:
        aircall_for(integration, settings).integration_me()
    except Disconnected:  # 401/403: the install's token is revoked
        return ""
    except Permanent as exc:
        if exc.status == 404:  # no such integration any more
            return ""
        raise
    return (
        "Aircall still answers this install's token (/v1/integrations/me): not uninstalled; an operator can "
        "delete it with `ajctl integrations delete`"
    )


ADMIN_DISCONNECTED_MESSAGE = (
    "You disconnected Jobber on this page: nothing is logged until you connect Jobber again "
    "(Reconnect Jobber)"
)


def disconnect_jobber(integration_id: str, settings: Settings | None = None) -> str:
    """The admin's "Disconnect Jobber" (Jobber's partner review expects one, jobber-api.md §7):
    `appDisconnect` with this integration's tokens (only while it holds the account), the tokens dropped, the
    integration inactive with a message that says how to reconnect, and the install inactive in Aircall (as
    after APP_DISCONNECT). Returns "disconnected", "already_gone" (Jobber had already dropped the connection)
    or "not_connected". Raises Transient when Jobber cannot be reached (nothing changed), InstallError when
    the integration was deleted."""
    settings = settings or get_settings()
    store = store_for(settings)
    integration = store.require(integration_id)
    if integration.status == "deleted":
        raise InstallError(f"integration {integration_id} was deleted")
    secrets = store.secrets_of(integration)
    account = integration.jobber_account
    outcome = "not_connected"
    if secrets.jobber_access_token and account and store.id_for_jobber_account(account.id) == integration_id:
        try:
            jobber_for(integration, settings).app_disconnect()
            outcome = "disconnected"
        except (Disconnected, Unauthorized):
            outcome = "already_gone"
    mark_jobber_disconnected(
        integration_id, settings, connection=secrets.jobber_connection, message=ADMIN_DISCONNECTED_MESSAGE
    )
    log.info("lifecycle.jobber_disconnected_by_admin integration=%s outcome=%s", integration_id, outcome)
    return outcome


def aircall_activation(integration_id: str) -> str:
    """Show the install in Aircall as active exactly when it logs (`POST /v1/integrations/enable|disable`).
    Trigger: a Jobber connect, disconnect, or the account moving to another integration. Idempotency: it
    reads the current status and sets Aircall to match, so repeats and reordering converge. Retries:
    IntegrationTask. Only OAuth installs have an Aircall integration to toggle (API keys have none)."""
    settings = get_settings()
    store = store_for(settings)
    integration = store.get(integration_id)
    if integration is None or integration.status == "deleted" or integration.aircall_auth != "bearer":
        return "not an OAuth install"
    if integration.reason == "jobber_not_connected":
        return "install in progress"
    active = integration.status == "active"
    try:
        aircall_for(integration, settings).set_integration_active(active)
    except Disconnected as exc:
        log.warning("lifecycle.aircall_activation.refused integration=%s error=%s", integration_id, exc)
        return "refused"
    store.set_aircall_active(integration_id, active)
    log.info("lifecycle.aircall_activation integration=%s active=%s", integration_id, active)
    return "enabled" if active else "disabled"


def apply_settings(
    integration_id: str,
    before: IntegrationSettings,
    after: IntegrationSettings,
    settings: Settings | None = None,
) -> None:
    """Store validated settings (the CLI and the settings page alike); turning contact sync on backfills every
    client (SPEC F8), in the background."""
    store_for(settings or get_settings()).set_settings(integration_id, after)
    if after.contact_sync and not before.contact_sync:
        enqueue(Task.SYNC_SWEEP, [integration_id], {"full": True}, tenant=integration_id)


def sign_in_link(integration_id: str, ttl_s: int, settings: Settings | None = None) -> tuple[str, float]:
    """A one-time, expiring link to one integration's settings page: (url, expires_at)."""
    settings = settings or get_settings()
    store_for(settings).require(integration_id)
    token, expires_at = SessionStore(sync_client(settings.REDIS_URL), settings.secret_key()).issue_link(
        integration_id, ttl_s
    )
    return f"{settings.PUBLIC_URL}/settings/login?{urlencode({'token': token})}", expires_at
