"""Finishing a connection (SPEC §2, F10): the OAuth code exchanges behind the install and connect pages, and
Jobber consents that wait for an admin (store/pending_jobber.py).

A Jobber consent waits when it needs the admin's confirmation (another account, or one another integration
holds), and always when it was started in Jobber's App Marketplace: such a callback carries no `state` of
ours, so nothing says which integration it is for. Its token pair is saved (encrypted) before the token is
used, and nothing is attached without a signed-in admin's click (`attach`).

A grant nobody attaches must not stay connected in the Jobber account: "Don't attach" (`decline`), an expired
hold touched by the browser, and beat's sweep (`disconnect_expired`) call `appDisconnect` with its tokens.
Every such use refreshes the pair first: Jobber kills a grant's refresh token when the account connects again
(jobber-api.md §2.4, §2.5), so a refused refresh means the grant was superseded or removed, and its (possibly
still unexpired) access token is never used to disconnect the account's newer connection.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import replace
from typing import Literal

from clients import jobber_oauth
from clients.aircall import exchange_oauth_code
from clients.errors import Disconnected, Transient, VendorError
from clients.jobber import Unauthorized
from config.queues import Task
from config.settings import Settings, get_settings
from flows.lifecycle import InstallError, Outcome, connect_jobber, install_with_oauth, jobber_account_of
from flows.vendors import jobber_client, refresh_jobber, store_for
from store.integrations import JobberAccount
from store.pending_jobber import PendingConnections, PendingJobber
from store.queues import enqueue
from store.redis import sync_client

log = logging.getLogger(__name__)

HOLD_S = 3600  # how long a consent waits for an admin (README: install and connect)
SWEEP_RETRY_S = 300  # a disconnect that failed is tried again by the next sweep
MAX_DISCONNECT_ATTEMPTS = 24  # about two hours of sweeps, then it is logged for an operator

# What became of a grant nobody attached: disconnected in Jobber; already gone (superseded or removed); left
# to the live connection of the integration that holds the account (`appDisconnect` acts on the whole account,
# so disconnecting this grant would disconnect that integration too); disconnected, after Jobber had already
# ended the holder's connection when this consent was given; or Jobber could not be reached ("later").
Discarded = Literal["disconnected", "already_gone", "kept_holder", "holder_ended", "later"]


class ConnectError(RuntimeError):
    """The connection cannot be completed; the message is written for the admin. `retryable`: Jobber could not
    be reached, trying again later may work (nothing was lost)."""

    def __init__(self, message: str, *, retryable: bool = False):
        super().__init__(message)
        self.retryable = retryable


def pending_store(settings: Settings | None = None) -> PendingConnections:
    settings = settings or get_settings()
    return PendingConnections(sync_client(settings.REDIS_URL), settings.secret_key())


# ---- the code exchanges ---------------------------------------------------------------------------------


def install_aircall(code: str, settings: Settings | None = None) -> Outcome:
    """Aircall partner install (aircall-api.md §8.2): exchange the code for the permanent token, then install
    with it (`install_with_oauth`). Raises InstallError."""
    settings = settings or get_settings()
    if not (settings.AIRCALL_CLIENT_ID and settings.AIRCALL_CLIENT_SECRET):
        raise InstallError(
            "the Aircall install is not configured (AIRCALL_CLIENT_ID / AIRCALL_CLIENT_SECRET)"
        )
    try:
        token = exchange_oauth_code(
            settings.AIRCALL_API_URL,
            settings.AIRCALL_CLIENT_ID,
            settings.AIRCALL_CLIENT_SECRET.get_secret_value(),
            code,
            f"{settings.PUBLIC_URL}/oauth/aircall/callback",
            settings.HTTP_TIMEOUT_S,
        )
    except VendorError as exc:
        raise InstallError(f"Aircall did not accept the authorization: {exc}") from None
    return install_with_oauth(token, settings)


def _exchange_jobber_code(code: str, settings: Settings) -> jobber_oauth.TokenPair:
    """POST /oauth/token (jobber-api.md §2.3); the redirect_uri is the registered callback."""
    if not (settings.JOBBER_CLIENT_ID and settings.JOBBER_CLIENT_SECRET):
        raise ConnectError("Jobber connect is not configured on this service (JOBBER_CLIENT_ID).")
    try:
        return jobber_oauth.exchange_code(
            settings.JOBBER_OAUTH_URL,
            settings.JOBBER_CLIENT_ID,
            settings.JOBBER_CLIENT_SECRET.get_secret_value(),
            code,
            f"{settings.PUBLIC_URL}/oauth/jobber/callback",
            timeout=settings.HTTP_TIMEOUT_S,
        )
    except Transient:
        raise ConnectError(
            "Jobber could not be reached just now. Nothing was connected.", retryable=True
        ) from None
    except VendorError as exc:
        log.info("connect.jobber.code_refused error=%s", exc)
        raise ConnectError(
            "Jobber did not accept this authorization (it expires after a few minutes and works once). "
            "Nothing was connected."
        ) from None


# ---- a Jobber consent, held ------------------------------------------------------------------------------


def receive_jobber_consent(
    code: str,
    settings: Settings | None = None,
    *,
    integration_id: str | None = None,
    superseding: str | None = None,
) -> tuple[str, PendingJobber]:
    """Exchange a Jobber authorization code, save the pair (encrypted) before using it, read the account it
    belongs to, and hold it for an admin. Returns (the browser's reference to it, the held consent).

    `integration_id`: the consent was started from that integration's settings (our `state`); None: from
    Jobber's App Marketplace. `superseding`: the browser's reference to an earlier consent, which goes to the
    sweep.
    Raises ConnectError; a grant whose account cannot be read is disconnected (now, or by the sweep)."""
    settings = settings or get_settings()
    pair = _exchange_jobber_code(code, settings)
    store = pending_store(settings)
    pending = PendingJobber(
        pair.access_token, pair.refresh_token, "", "", pair.expires_at, integration_id, time.time() + HOLD_S
    )
    reference = store.hold(pending)
    earlier = store.take(superseding)
    if earlier is not None:
        # Its grant is dead if it was for the same account (one connection per account); otherwise it would be
        # left connected in Jobber: the sweep decides which, by refreshing it.
        store.requeue(earlier, time.time())
    try:
        account = jobber_account_of(pair.access_token, settings)
    except InstallError as exc:
        log.warning("connect.jobber.account_unreadable error=%s", exc)
        store.take(reference)
        _discard(pending, settings)
        raise ConnectError(
            "Jobber did not tell us which account this connection is for. Nothing was connected; please try "
            "again.",
            retryable=True,
        ) from None
    pending = replace(pending, account_id=account.id, account_name=account.name)
    store.hold(pending, reference)
    origin = "settings" if integration_id else "marketplace"
    log.info(
        "connect.jobber.held account=%s origin=%s integration=%s", account.id, origin, integration_id or "-"
    )
    return reference, pending


def pending_for(
    reference: str | None, integration_id: str | None, settings: Settings | None = None
) -> PendingJobber | None:
    """The held consent a browser may be offered: on `integration_id`'s settings page (one started there, or
    from the Marketplace), or with no integration (signed out) one from the Marketplace. None when there is
    none, it expired, or it belongs to another integration's settings."""
    pending = pending_store(settings).peek(reference)
    if pending is None or pending.expired() or not pending.account_id:
        return None
    return pending if pending.integration_id in (None, integration_id) else None


def attach(reference: str | None, integration_id: str, settings: Settings | None = None) -> Outcome:
    """The signed-in admin attaches the held consent to their integration, with the one-connection-per-account
    rule of every connect (`connect_jobber`: an older holder of the account becomes inactive). The grant is
    refreshed first, which proves it is still connected in Jobber and saves a fresh pair before it is used.
    Raises ConnectError; on a retryable one the consent is still held."""
    settings = settings or get_settings()
    store = pending_store(settings)
    seen = store.peek(reference)
    if seen is None or not seen.account_id or seen.integration_id not in (None, integration_id):
        raise ConnectError("There is no Jobber connection waiting in this browser.")
    pending = store.take(reference)
    if pending is None:
        raise ConnectError("There is no Jobber connection waiting in this browser.")
    if pending.expired():
        discarded = _discard(pending, settings)
        log.info(
            "connect.jobber.expired_on_attach integration=%s account=%s outcome=%s",
            integration_id,
            pending.account_id,
            discarded,
        )
        raise ConnectError(
            "The Jobber connection waited too long and has expired; it was removed from your Jobber account. "
            "Connect again from Jobber or from this page."
        )
    try:
        renewed = _renewed(pending, settings)
    except (Disconnected, Unauthorized):
        log.info(
            "connect.jobber.gone_before_attach integration=%s account=%s", integration_id, pending.account_id
        )
        raise ConnectError(
            f"The connection to {pending.account_name} was removed in Jobber in the meantime. Nothing was "
            "attached; connect again from Jobber or from this page."
        ) from None
    except VendorError:
        store.hold(pending, reference)
        raise ConnectError(
            "Jobber could not be reached just now. Nothing was changed; try again.", retryable=True
        ) from None
    account = JobberAccount(renewed.account_id, renewed.account_name)
    try:
        # The refreshed pair is saved by connect_jobber before anything uses it.
        outcome = connect_jobber(
            integration_id, renewed.access_token, renewed.refresh_token, settings, account, renewed.expires_at
        )
    except InstallError:
        # The integration was deleted meanwhile: nobody can attach this any more; no orphan stays in Jobber.
        discarded = _discard(renewed, settings)
        log.info("connect.jobber.integration_gone integration=%s outcome=%s", integration_id, discarded)
        raise ConnectError(
            "This integration was uninstalled: nothing was connected, and the new connection was removed "
            "from the Jobber account."
        ) from None
    log.info(
        "connect.jobber.attached integration=%s account=%s origin=%s",
        integration_id,
        account.id,
        "marketplace" if pending.from_marketplace else "settings",
    )
    return outcome


def decline(reference: str | None, integration_id: str, settings: Settings | None = None) -> Discarded | None:
    """The admin's "Don't attach": the held consent is disconnected in Jobber (`appDisconnect` with its own
    tokens), so no connection is left in the Jobber account. None when there was nothing (left) to decline;
    "later" when Jobber could not be reached (the sweep tries again)."""
    settings = settings or get_settings()
    store = pending_store(settings)
    seen = store.peek(reference)
    if seen is None or seen.integration_id not in (None, integration_id):
        return None
    pending = store.take(reference)
    if pending is None:
        return None
    outcome = _discard(pending, settings)
    log.info(
        "connect.jobber.declined integration=%s account=%s outcome=%s",
        integration_id,
        pending.account_id or "-",
        outcome,
    )
    return outcome


def disconnect_expired(settings: Settings | None = None, now: float | None = None) -> dict[str, int]:
    """Disconnect in Jobber the consents no admin attached in time. Trigger: beat, every 5 minutes.
    Idempotency: each record is taken once (whoever takes it first: a browser or a sweep). Retries: a failed
    disconnect goes back for the next sweep, up to MAX_DISCONNECT_ATTEMPTS, then it is logged for an
    operator."""
    settings = settings or get_settings()
    store = pending_store(settings)
    counts: Counter[str] = Counter()
    for digest in store.due(now):
        pending = store.take_by_digest(digest)
        if pending is None:
            continue  # attached, declined or swept meanwhile; or its key is gone (the grace ran out)
        if pending.disconnect_attempts >= MAX_DISCONNECT_ATTEMPTS:
            counts["abandoned"] += 1
            log.error(
                "connect.jobber.disconnect_abandoned account=%s attempts=%d",
                pending.account_id or "-",
                pending.disconnect_attempts,
            )
            continue
        counts[_discard(pending, settings)] += 1
    if counts:
        log.info("connect.jobber.swept %s", " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    return dict(counts)


# ---- one grant's tokens -----------------------------------------------------------------------------------


def _renewed(pending: PendingJobber, settings: Settings) -> PendingJobber:
    """The consent with a freshly refreshed pair. Raises Disconnected when the grant was superseded or removed
    (its refresh token is dead), Transient when Jobber cannot be reached."""
    if not (settings.JOBBER_CLIENT_ID and settings.JOBBER_CLIENT_SECRET):
        raise Disconnected("JOBBER_CLIENT_ID / JOBBER_CLIENT_SECRET are not set", vendor="jobber")
    pair = jobber_oauth.refresh(
        settings.JOBBER_OAUTH_URL,
        settings.JOBBER_CLIENT_ID,
        settings.JOBBER_CLIENT_SECRET.get_secret_value(),
        pending.refresh_token,
        timeout=settings.HTTP_TIMEOUT_S,
    )
    return replace(
        pending, access_token=pair.access_token, refresh_token=pair.refresh_token, expires_at=pair.expires_at
    )


def _discard(pending: PendingJobber, settings: Settings) -> Discarded:
    """Disconnect a grant nobody attached. On failure it is handed to the sweep, with its newest pair.

    When an integration holds the grant's Jobber account, Jobber may have ended that
    integration's connection when this consent was given (jobber-api.md §2.5: a new consent for
    an account issues a new pair and the old refresh token is dead), or not. Its connection is
    checked first (a refresh): still live, it is left alone and this grant is only dropped (an
    `appDisconnect` would remove the account from the app, and so from that integration);
    ended, this grant is disconnected too and that integration is told to reconnect."""
    store = pending_store(settings)
    saved: str | None = None
    try:
        pending = _renewed(pending, settings)
        saved = store.requeue(pending, time.time() + SWEEP_RETRY_S)  # the rotated pair, saved before use
        holder = _holder_state(pending, settings)
        if holder == "live":
            outcome: Discarded = "kept_holder"
        else:
            jobber_client(pending.access_token, settings).app_disconnect()
            outcome = "holder_ended" if holder == "ended" else "disconnected"
    except (Disconnected, Unauthorized):
        outcome = "already_gone"
    except VendorError as exc:
        log.warning("connect.jobber.disconnect_failed account=%s error=%s", pending.account_id or "-", exc)
        if saved:
            store.take_by_digest(saved)
        store.requeue(
            replace(pending, disconnect_attempts=pending.disconnect_attempts + 1), time.time() + SWEEP_RETRY_S
        )
        return "later"
    if saved:
        store.take_by_digest(saved)
    return outcome


HOLDER_ENDED_MESSAGE = (
    "Jobber ended this integration's connection to {account} when that account was connected again "
    "elsewhere (the new connection was not kept) — reconnect Jobber here to resume"
)


def _holder_state(pending: PendingJobber, settings: Settings) -> Literal["none", "live", "ended"]:
    """Whether an integration holds the grant's account with a connection Jobber still honours. "ended": it
    did not any more; that integration is now inactive, saying why and how to resume. Raises Transient when
    Jobber cannot be reached (nothing is decided)."""
    store = store_for(settings)
    holder_id = store.id_for_jobber_account(pending.account_id) if pending.account_id else None
    holder = store.get(holder_id) if holder_id else None
    if holder is None or holder.status == "deleted":
        return "none"
    secrets = store.secrets(holder.id)
    if not (secrets.jobber_access_token and secrets.jobber_refresh_token):
        return "none"
    try:
        # A refresh proves the holder's grant is alive (and saves its rotated pair) without using any data.
        refresh_jobber(holder, stale=secrets.jobber_access_token, settings=settings)
    except Disconnected:
        message = HOLDER_ENDED_MESSAGE.format(account=pending.account_name or "the Jobber account")
        store.end_jobber_connection(
            holder.id, message, "jobber_disconnected", connection=secrets.jobber_connection
        )
        enqueue(Task.AIRCALL_ACTIVATION, [holder.id], tenant=holder.id)
        log.warning("connect.jobber.holder_ended integration=%s account=%s", holder.id, pending.account_id)
        return "ended"
    return "live"
