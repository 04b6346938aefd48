"""The settings page's form ↔ the settings document (SPEC §2). Pure: no I/O.

The form only proposes a document; `IntegrationSettings.parse` (the same validation as `ajctl integrations
settings`) decides. Checkboxes that are unticked are simply absent from a form, so each section says it was
shown (`<section>_shown`) before its absent boxes count as "off"; a section the page showed disabled (AI
without AI Assist) keeps its stored values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from config.integration import INSIGHT_FIELDS, MAX_INSIGHT_FIELDS, IntegrationSettings

AI_FLAGS = (
    "transcription",
    "summary",
    "topics",
    "topics_as_tags",
    "action_items",
    "action_items_as_tasks",
    "sentiment",
)
SWITCHES = ("create_missing_clients", "contact_sync", "ai_voice_agent_logging", "aircall_plan_ai_assist")


class FormData(Protocol):
    """What the form code reads of a posted form (Starlette's FormData, or a test's stand-in)."""

    def getlist(self, key: str) -> Sequence[Any]: ...

    def get(self, key: str, /) -> Any: ...


def _on(form: FormData, name: str) -> bool:
    return form.get(name) in ("on", "1", "true")


def _number(value: Any) -> Any:
    text = str(value).strip()
    # ASCII digits only: "²" and other Unicode digits pass isdigit() but not int(); validation
    # refuses the text, next to the field.
    return int(text) if text.isascii() and text.isdigit() else text


def document_from_form(form: FormData, current: IntegrationSettings) -> dict[str, Any]:
    """The settings document the admin asked for (not yet validated)."""
    doc = current.model_dump()
    doc["numbers"] = [_number(v) for v in form.getlist("numbers") if str(v).strip()]
    doc["log_activity_as"] = form.get("log_activity_as") or current.log_activity_as
    for name in SWITCHES:
        doc[name] = _on(form, name)
    fields = [str(v).strip() for v in form.getlist("card_field") if str(v).strip()]
    doc["insight_card"] = {"custom": form.get("card_mode") == "custom", "fields": fields}
    if _on(form, "ai_shown"):
        doc["ai_logging"] = {
            "enabled": _on(form, "ai_enabled"),
            **{f: _on(form, f"ai_{f}") for f in AI_FLAGS},
        }
    return doc


def card_slots(fields: Sequence[str]) -> list[str]:
    """The card's field choices as the page's five slots ("" for an empty slot)."""
    chosen = list(fields)[:MAX_INSIGHT_FIELDS]
    return chosen + [""] * (MAX_INSIGHT_FIELDS - len(chosen))


def card_choices(custom_labels: Sequence[str], chosen: Sequence[str]) -> list[tuple[str, str]]:
    """(value, label) options of each card slot: SPEC F1's fields, then the account's Jobber custom fields
    (and any custom field already chosen, so saving never drops it)."""
    options = [(name, label) for name, label in INSIGHT_FIELDS.items()]
    labels = list(custom_labels) + [f.removeprefix("custom:") for f in chosen if f.startswith("custom:")]
    for label in dict.fromkeys(labels):
        options.append((f"custom:{label}", f"{label} (Jobber custom field)"))
    return options


def preview_settings(query: Mapping[str, str], current: IntegrationSettings) -> IntegrationSettings:
    """The card settings a live preview asks for (`?card_mode=custom&card_field=…`); invalid asks fall back
    to the stored card."""
    fields = [f for f in str(query.get("card_field", "")).split(",") if f.strip()]
    try:
        return current.with_changes(
            {"insight_card.custom": query.get("card_mode") == "custom", "insight_card.fields": fields}
        )
    except ValueError:
        return current
