"""The AI Voice Agent's notes from `ai_voice_agent.summary`, whatever shape its payload takes (SPEC F9).

Public payloads show `extracted_data` as a flat object and as parallel arrays (`{"question": [...], "answer":
[...]}`); `summary` may be text, an object or missing. Every shape renders as readable
`- key: value` lines."""

from __future__ import annotations

import pytest

from domain.calls import Snapshot
from domain.voice_agent import voice_agent_notes


def notes(**data: object) -> list[str]:
    return voice_agent_notes([Snapshot("ai_voice_agent.summary", 1, {"call_id": 1, **data})])


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"summary": "Burst pipe.", "extracted_data": {"name": "Pat Doe", "issue": "Burst pipe"}},
            ["Burst pipe.", "name: Pat Doe", "issue: Burst pipe"],
        ),
        (
            {
                "extracted_data": {
                    "question": ["What is your name?", "What is the issue?"],
                    "answer": ["Pat", "Leak"],
                }
            },
            ["What is your name?: Pat", "What is the issue?: Leak"],
        ),
        (
            {
                "extracted_data": {
                    "questions": ["Name?", "Address?", "When?"],
                    "answers": ["Pat", None, "Monday"],
                }
            },
            ["Name?: Pat", "When?: Monday"],
        ),
        (
            {"extracted_data": [{"question": "Name?", "answer": "Pat"}, {"key": "zip", "value": "94105"}]},
            ["Name?: Pat", "zip: 94105"],
        ),
        (
            {"extracted_data": {"items": ["faucet", "pipe"], "urgent": True, "callback": False, "rooms": 2}},
            ["items: faucet, pipe", "urgent: yes", "callback: no", "rooms: 2"],
        ),
        (
            {
                "extracted_data": {
                    "address": {"street": "1 Main St", "city": "Oakland"},
                    "empty": "",
                    "none": None,
                }
            },
            ["address: street: 1 Main St, city: Oakland"],
        ),
        ({"extracted_data": '{"name": "Pat"}'}, ["name: Pat"]),
        ({"extracted_data": "Caller wants a quote"}, ["Caller wants a quote"]),
        ({"summary": {"content": "Needs a plumber."}}, ["Needs a plumber."]),
        ({"summary": {"text": "Needs a plumber.", "language": "en"}}, ["Needs a plumber."]),
        ({"summary": {"topic": "plumbing", "urgency": "high"}}, ["topic: plumbing, urgency: high"]),
        ({"summary": None, "extracted_data": None}, []),
        ({}, []),
        ({"summary": "  ", "extracted_data": {}}, []),
    ],
    ids=[
        "flat",
        "parallel-arrays",
        "plural-arrays-with-gap",
        "list-of-pairs",
        "scalars",
        "nested",
        "json-text",
        "plain-text",
        "summary-content",
        "summary-text",
        "summary-object",
        "nulls",
        "missing",
        "blank",
    ],
)
def test_every_payload_shape_renders_as_readable_lines(data: dict[str, object], expected: list[str]) -> None:
    rendered = notes(**data)
    assert rendered == expected
    for line in rendered:  # never a Python repr
        assert not any(mark in line for mark in ("{'", "['", "None", "True", "False"))


def test_the_latest_summary_event_wins() -> None:
    older = Snapshot("ai_voice_agent.summary", 1, {"summary": "old"})
    newer = Snapshot("ai_voice_agent.summary", 2, {"summary": "new"})
    assert voice_agent_notes([newer, older]) == ["new"]


def test_a_deeply_nested_summary_renders_quickly_and_cut() -> None:
    """Each nested value was rendered twice: 30 levels meant ~2^30 steps (a worker pinned by one event)."""
    from domain.voice_agent import readable

    value: object = "end"
    for level in range(40):
        value = {f"k{level}": value}
    text = readable(value)
    assert text.startswith("k39: k38:") and text.endswith("…")
