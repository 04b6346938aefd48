"""The settings page's form ↔ settings document, and the status it shows: pure functions, table-driven."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.datastructures import FormData

from config.integration import IntegrationSettings, SettingsError
from ingest.settings_form import card_choices, card_slots, document_from_form, preview_settings
from ingest.settings_view import status_of
from store.integrations import Integration, JobberAccount

STORED = IntegrationSettings.parse(
    {"numbers": [1], "aircall_plan_ai_assist": True, "ai_logging": {"enabled": True, "sentiment": False}}
)


def form(*pairs: tuple[str, str]) -> FormData:
    return FormData(list(pairs))


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        # Unticked boxes are absent from a form: they mean "off".
        (
            (),
            {
                "numbers": [],
                "create_missing_clients": False,
                "contact_sync": False,
                "ai_voice_agent_logging": False,
            },
        ),
        ((("numbers", "7"), ("numbers", "9")), {"numbers": [7, 9]}),
        ((("numbers", "x"),), {"numbers": ["x"]}),  # not a number: the model refuses it, next to the field
        ((("log_activity_as", "request"),), {"log_activity_as": "request"}),
        (
            (("contact_sync", "on"), ("create_missing_clients", "on")),
            {"contact_sync": True, "create_missing_clients": True},
        ),
        (
            (
                ("card_mode", "custom"),
                ("card_field", "email"),
                ("card_field", ""),
                ("card_field", "custom:Gate code"),
            ),
            {"insight_card": {"custom": True, "fields": ["email", "custom:Gate code"]}},
        ),
        # The AI section shown disabled (no AI Assist ticked before) keeps its stored values...
        ((), {"ai_logging": STORED.ai_logging.model_dump(), "aircall_plan_ai_assist": False}),
        # ...and when shown, its absent boxes are off.
        (
            (("ai_shown", "1"), ("ai_enabled", "on"), ("ai_summary", "on"), ("aircall_plan_ai_assist", "on")),
            {
                "ai_logging": {
                    "enabled": True,
                    "summary": True,
                    "transcription": False,
                    "topics": False,
                    "topics_as_tags": False,
                    "action_items": False,
                    "action_items_as_tasks": False,
                    "sentiment": False,
                },
                "aircall_plan_ai_assist": True,
            },
        ),
    ],
)
def test_form_to_document(pairs: tuple[tuple[str, str], ...], expected: dict[str, Any]) -> None:
    doc = document_from_form(form(*pairs), STORED)
    assert {k: doc[k] for k in expected} == expected


@pytest.mark.parametrize(
    ("pairs", "field", "message"),
    [
        ((("numbers", "x"),), "numbers", "valid integer"),
        (
            (
                ("card_mode", "custom"),
                *[
                    ("card_field", f)
                    for f in ["email", "phone", "tags", "balance", "lead_status", "client_since"]
                ],
            ),
            "insight_card.fields",
            "at most 5",
        ),
        ((("card_field", "email"), ("card_field", "email")), "insight_card.fields", "must not repeat"),
        ((("card_field", "shoe_size"),), "insight_card.fields", "unknown insight card field"),
        ((("log_activity_as", "fax"),), "log_activity_as", "'note' or 'request'"),
        ((("ai_shown", "1"), ("ai_enabled", "on")), "ai_logging.enabled", "AI Assist"),
    ],
)
def test_refused_forms_name_the_field(pairs: tuple[tuple[str, str], ...], field: str, message: str) -> None:
    with pytest.raises(SettingsError) as refused:
        IntegrationSettings.parse(document_from_form(form(*pairs), STORED))
    assert message in refused.value.problems[field]


def test_card_slots_and_choices() -> None:
    assert card_slots(["email"]) == ["email", "", "", "", ""]
    options = dict(card_choices(["Gate code"], ["custom:Dog name", "phone"]))
    assert options["email"] == "Email" and options["custom:Gate code"] == "Gate code (Jobber custom field)"
    assert "custom:Dog name" in options  # a saved custom field stays selectable


@pytest.mark.parametrize(
    ("query", "custom", "fields"),
    [
        ({"card_mode": "custom", "card_field": "email,tags"}, True, ["email", "tags"]),
        ({"card_mode": "default"}, False, []),
        ({"card_mode": "custom", "card_field": "email,email"}, False, []),  # invalid: the stored card
    ],
)
def test_preview_settings(query: dict[str, str], custom: bool, fields: list[str]) -> None:
    card = preview_settings(query, STORED).insight_card
    assert (card.custom, card.fields) == (custom, fields)


def integration(
    status: str, reason: str = "", numbers: list[int] | None = None, message: str = ""
) -> Integration:
    return Integration(
        id="int_1",
        status=status,
        message=message or None,
        reason=reason,  # type: ignore[arg-type]
        settings=IntegrationSettings(numbers=numbers if numbers is not None else [1]),
        warnings=[],
        aircall_company_id="1",
        aircall_api_id=None,
        aircall_auth="bearer",
        aircall_webhook_id="w",
        aircall_active=None,
        jobber_account=JobberAccount("a", "Acme"),
        created_at="",
        updated_at="",
    )


@pytest.mark.parametrize(
    ("record", "title", "action"),
    [
        (integration("active"), "Active", None),
        (integration("active", numbers=[]), "Connected, but nothing is logged yet", None),
        (integration("inactive", "jobber_not_connected"), "Next step: connect Jobber", "connect"),
        (
            integration(
                "inactive",
                "jobber_disconnected",
                message="Disconnected from Jobber — reinstall the integration to resume",
            ),
            "Inactive",
            "reconnect",
        ),
        (
            integration("inactive", "jobber_account_moved"),
            "Deactivated: the Jobber account was connected elsewhere",
            "reconnect",
        ),
        (integration("needs_reconnect"), "Jobber needs to be reconnected", "reconnect"),
        (integration("deleted"), "Uninstalled", "reinstall"),
    ],
)
def test_status_in_an_admins_words(record: Integration, title: str, action: str | None) -> None:
    status = status_of(record)
    assert (status.title, status.action) == (title, action)
    if action in ("connect", "reconnect"):
        assert status.warning and "connection" in status.warning  # the one-connection-per-account warning
