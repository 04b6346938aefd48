"""Per-integration settings: the defaults, and every refusal of SPEC §2 with a clear message."""

import pytest

from config.integration import IntegrationSettings, SettingsError, parse_assignment

DEFAULTS = {
    "numbers": [],
    "log_activity_as": "note",
    "create_missing_clients": False,
    "contact_sync": False,
    "insight_card": {"custom": False, "fields": []},
    "ai_logging": {
        "enabled": False,
        "transcription": True,
        "summary": True,
        "topics": True,
        "topics_as_tags": False,
        "action_items": True,
        "action_items_as_tasks": False,
        "sentiment": True,
    },
    "ai_voice_agent_logging": False,
    "aircall_plan_ai_assist": False,
}


def test_empty_document_gives_the_spec_defaults():
    assert IntegrationSettings.parse({}).model_dump() == DEFAULTS


def test_full_valid_document_round_trips():
    doc = DEFAULTS | {
        "numbers": [123, 456],
        "log_activity_as": "request",
        "insight_card": {
            "custom": True,
            "fields": ["email", "phone", "balance", "open_requests", "custom:Gate code"],
        },
        "ai_logging": DEFAULTS["ai_logging"] | {"enabled": True},
        "aircall_plan_ai_assist": True,
    }
    assert IntegrationSettings.parse(doc).model_dump() == doc


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"colour": "blue"}, "unknown setting 'colour'"),
        ({"ai_logging": {"enabled": False, "sparkles": True}}, "unknown setting 'ai_logging.sparkles'"),
        (
            {
                "insight_card": {
                    "custom": True,
                    "fields": ["email", "phone", "tags", "balance", "lead_status", "client_since"],
                }
            },
            "at most 5 insight card fields",
        ),
        ({"insight_card": {"fields": ["shoe_size"]}}, "unknown insight card field 'shoe_size'"),
        ({"insight_card": {"fields": ["custom:"]}}, "custom field needs a label"),
        ({"insight_card": {"fields": ["email", "email"]}}, "must not repeat"),
        ({"ai_logging": {"enabled": True}}, "AI logging needs Aircall AI Assist"),
        ({"log_activity_as": "email"}, "log_activity_as"),
        ({"numbers": ["not-a-number"]}, "numbers.0"),
        ([], "settings must be a JSON object"),
    ],
)
def test_invalid_settings_are_refused_with_a_clear_message(doc, message):
    with pytest.raises(SettingsError) as excinfo:
        IntegrationSettings.parse(doc)
    assert message in str(excinfo.value)


def test_dotted_changes_are_revalidated_as_a_whole():
    base = IntegrationSettings.parse({})
    changed = base.with_changes({"aircall_plan_ai_assist": True, "ai_logging.enabled": True, "numbers": [7]})
    assert changed.ai_logging.enabled and changed.numbers == [7]
    with pytest.raises(SettingsError, match="AI Assist"):
        base.with_changes({"ai_logging.enabled": True})
    with pytest.raises(SettingsError, match=r"unknown setting 'ai_logging\.nope'"):
        base.with_changes({"ai_logging.nope": 1})
    with pytest.raises(SettingsError, match=r"unknown setting 'numbers\.x'"):
        base.with_changes({"numbers.x": 1})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("contact_sync=true", ("contact_sync", True)),
        ("numbers=[1,2]", ("numbers", [1, 2])),
        ("log_activity_as=request", ("log_activity_as", "request")),
        (" a.b = 3", ("a.b", 3)),
    ],
)
def test_cli_assignments_parse_json_values(text, expected):
    assert parse_assignment(text) == expected


def test_cli_assignment_needs_an_equals_sign():
    with pytest.raises(SettingsError):
        parse_assignment("contact_sync")
