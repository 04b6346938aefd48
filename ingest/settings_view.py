"""What the settings page shows, gathered for one integration (blocking: run it in a thread). The vendor reads
(the company's numbers, a preview client) are flows/page_reads.py's, cached a few minutes."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from config.integration import IntegrationSettings
from config.settings import Settings
from domain.cards import card_for, custom_labels
from flows import page_reads
from store.contacts import SyncRun, SyncStatus
from store.dead_letters import DeadLetters
from store.integrations import Integration
from store.ledger import Ledger
from store.pending_jobber import PendingJobber
from store.redis import sync_client

log = logging.getLogger(__name__)

EVENT_LABELS = {
    "call.created": "Incoming call (caller card)",
    "call.ringing_on_agent": "Call ringing (caller card)",
    "call.ended": "Call",
    "call.commented": "Call note added",
    "call.tagged": "Call tagged",
    "call.untagged": "Call untagged",
    "call.comm_assets_generated": "Call recording ready",
    "call.answered": "Call answered",
    "call.hungup": "Call hung up",
    "call.transferred": "Call transferred",
    "call.external_transferred": "Call transferred out",
    "call.assigned": "Call assigned",
    "call.voicemail_left": "Voicemail left",
    "message.sent": "Text sent",
    "message.received": "Text received",
    "transcription.created": "AI transcription",
    "summary.created": "AI summary",
    "topics.created": "AI topics",
    "sentiment.created": "AI sentiment",
    "action_item.created": "AI action items",
    "integration.deleted": "Uninstalled from Aircall",
    "jobber.APP_DISCONNECT": "Disconnected in Jobber",
    "jobber.CLIENT_CREATE": "Jobber client created",
    "jobber.CLIENT_UPDATE": "Jobber client updated",
    "jobber.CLIENT_DESTROY": "Jobber client deleted",
}


@dataclass(frozen=True)
class Status:
    tone: str  # ok | warn | bad
    title: str
    message: str
    action: str | None  # connect | reconnect | reinstall | None
    warning: str | None = None  # what the action will also do (one Jobber connection per account)


@dataclass(frozen=True)
class NumberChoice:
    id: int
    name: str
    digits: str
    checked: bool


@dataclass(frozen=True)
class ActivityRow:
    when: str
    what: str
    resource: str
    outcome: str  # logged | card | done | skipped | failed | pending
    detail: str


@dataclass
class Preview:
    client_name: str = ""
    items: list[dict[str, Any]] = field(default_factory=list)
    custom_labels: list[str] = field(default_factory=list)
    unavailable: str = ""


TAKEOVER_WARNING = (
    "Jobber allows one connection per account: if the Jobber account you pick is connected to another "
    "Aircall integration, approving it in Jobber ends that integration's connection at once — even if you "
    "then choose not to use it here — and that integration stops logging."
)


def connected_to_jobber(integration: Integration) -> bool:
    """The integration has a Jobber connection the admin can disconnect ("Disconnect Jobber")."""
    return integration.status in ("active", "needs_reconnect") and integration.jobber_account is not None


def status_of(integration: Integration) -> Status:
    """The integration's state in an admin's words, with the action that fixes it."""
    if integration.status == "active":
        account = integration.jobber_account.name if integration.jobber_account else "Jobber"
        if not integration.settings.numbers:
            return Status(
                "warn",
                "Connected, but nothing is logged yet",
                f"Connected to {account}. Choose at least one Aircall number below: calls and texts "
                "are logged only for connected numbers.",
                None,
            )
        return Status(
            "ok", "Active", f"Calls and texts on the connected numbers are logged to {account}.", None
        )
    if integration.status == "deleted":
        return Status(
            "bad",
            "Uninstalled",
            integration.message or "This integration was removed from Aircall.",
            "reinstall",
        )
    if integration.status == "needs_reconnect":
        return Status(
            "bad",
            "Jobber needs to be reconnected",
            integration.message or "The Jobber connection expired.",
            "reconnect",
            TAKEOVER_WARNING,
        )
    if integration.reason == "jobber_disconnected":
        return Status(
            "bad",
            "Inactive",
            integration.message or "Disconnected from Jobber.",
            "reconnect",
            TAKEOVER_WARNING,
        )
    if integration.reason == "jobber_account_moved":
        return Status(
            "bad",
            "Deactivated: the Jobber account was connected elsewhere",
            integration.message or "",
            "reconnect",
            "Reconnecting here takes the Jobber connection back: the other Aircall integration using "
            "that Jobber account stops logging.",
        )
    return Status(
        "warn",
        "Next step: connect Jobber",
        "Aircall is installed. Connect your Jobber account so calls and texts can be logged.",
        "connect",
        TAKEOVER_WARNING,
    )


def forget_vendor_cache(integration_id: str) -> None:
    page_reads.forget(integration_id)


def numbers(integration: Integration, settings: Settings) -> tuple[list[NumberChoice], str]:
    """The company's numbers, the connected ones ticked; and why the list is incomplete, if it is."""
    chosen = set(integration.settings.numbers)
    found, error = page_reads.company_numbers(integration, settings)
    listed = {n["id"] for n in found}
    choices = [NumberChoice(n["id"], n["name"], n["digits"], n["id"] in chosen) for n in found]
    choices += [NumberChoice(i, f"Number {i}", "", True) for i in sorted(chosen - listed)]
    return choices, error


def preview(integration: Integration, card_settings: IntegrationSettings, settings: Settings) -> Preview:
    client, unavailable = page_reads.preview_client(integration, settings)
    if not client:
        return Preview(unavailable=unavailable)
    return Preview(
        client_name=client.get("name") or "",
        items=card_for(client, card_settings.insight_card),
        custom_labels=custom_labels(client),
    )


def _when(iso: str) -> str:
    if not iso:
        return ""
    try:
        return datetime.fromisoformat(iso).astimezone(UTC).strftime("%b %d, %H:%M UTC")
    except ValueError:
        return iso


CARD_EVENTS = {"call.created", "call.ringing_on_agent"}
# Call events before `call.ended` only build up the call's state: done, but nothing is written yet.
STATE_EVENTS = {
    "call.answered",
    "call.hungup",
    "call.transferred",
    "call.external_transferred",
    "call.assigned",
    "call.voicemail_left",
    "call.unsuccessful_transfer",
}


def _label(event: str) -> str:
    if event.startswith("ai_voice_agent."):
        return "AI Voice Agent " + event.removeprefix("ai_voice_agent.").replace("_", " ")
    return EVENT_LABELS.get(event, event)


def _done_as(event: str) -> str:
    if event in CARD_EVENTS:
        return "card"
    return "done" if event in STATE_EVENTS or event.startswith("jobber.") else "logged"


def recent_activity(integration_id: str, limit: int = 25) -> list[ActivityRow]:
    rows = []
    for entry in Ledger(sync_client()).recent(integration_id, limit):
        outcome = _done_as(entry["event"]) if entry["outcome"] == "done" else entry["outcome"] or "pending"
        rows.append(
            ActivityRow(
                when=_when(entry["received_at"]),
                what=_label(entry["event"]),
                resource=entry["resource_id"],
                outcome=outcome,
                detail=entry["reason"],
            )
        )
    return rows


def failed_count(integration_id: str) -> int:
    return len(DeadLetters(sync_client()).list(integration_id))


def sync_run(integration_id: str) -> SyncRun | None:
    return SyncStatus(sync_client()).latest(integration_id)


def since(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%b %d, %H:%M UTC") if ts else ""


@dataclass
class Page:
    """Everything the template needs; `values` is what the form shows (stored, or a refused attempt)."""

    integration: Integration
    status: Status
    values: dict[str, Any]
    errors: dict[str, str]
    numbers: list[NumberChoice]
    numbers_error: str
    preview: Preview
    sync: SyncRun | None
    recent: list[ActivityRow]
    failed: int
    pending: PendingJobber | None
    csrf_token: str
    flash: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
