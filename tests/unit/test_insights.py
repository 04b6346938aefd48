"""AI insights (SPEC F7, §4): the endpoints' bodies (aircall-api.md §6) read into parts,
and the note they make."""

from __future__ import annotations

from typing import Any

import pytest

from config.integration import AiLogging
from domain.insights import EVENT_KINDS, ActionItem, Insights, parse, render, wanted

AGENTS = {"123": "Madelaine Dupont"}
ALL_ON = AiLogging(enabled=True)
LINK = "https://api.aircall.io/v1/calls/1234567890"


def utter(text: Any, kind: str = "external", **more: Any) -> dict[str, Any]:
    return {"start_time": 1.0, "end_time": 2.0, "text": text, "participant_type": kind, **more}


def transcription(*utterances: dict[str, Any]) -> dict[str, Any]:
    return {
        "transcription": {
            "id": 68271,
            "call_id": 5237603,
            "type": "call",
            "content": {"language": "en", "utterances": list(utterances)},
        }
    }


def sentiments(*participants: dict[str, Any]) -> dict[str, Any]:
    return {"sentiment": {"id": 5237603, "call_id": 5237603, "participants": list(participants)}}


# ---- parse -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("contents", "expected"),
    [
        pytest.param({}, Insights(), id="nothing-yet"),
        pytest.param(
            {
                "summary": None,
                "topics": None,
                "sentiments": None,
                "action_items": None,
                "transcription": None,
            },
            Insights(),
            id="every-kind-null",
        ),
        # summary
        pytest.param(
            {"summary": {"summary": {"id": 974, "content": "  Wants a quote.\n"}}},
            Insights(summary="Wants a quote."),
            id="summary-stripped",
        ),
        pytest.param({"summary": {"summary": {"content": "   "}}}, Insights(), id="summary-blank-is-none"),
        pytest.param(
            {"summary": {"summary": {"content": {"text": "x"}}}}, Insights(), id="summary-not-text-is-none"
        ),
        pytest.param(
            {"summary": {"summary": {"content": "Devis pour l'élagage 🌳"}}},
            Insights(summary="Devis pour l'élagage 🌳"),
            id="summary-unicode",
        ),
        # topics
        pytest.param(
            {"topics": {"topic": {"id": 786, "content": ["payment", "billing"]}}},
            Insights(topics=["payment", "billing"]),
            id="topics-in-order",
        ),
        pytest.param(
            {"topics": {"topic": {"content": [" quote ", "", "  ", 3]}}},
            Insights(topics=["quote", "3"]),
            id="topics-stripped-blanks-dropped-numbers-kept",
        ),
        pytest.param({"topics": {"topic": {"content": None}}}, Insights(), id="topics-null"),
        # sentiment: the external participant's value, in words
        pytest.param(
            {
                "sentiments": sentiments(
                    {"phone_number": "+33679198915", "value": "POSITIVE", "type": "external"}
                )
            },
            Insights(sentiment="Positive"),
            id="sentiment-positive",
        ),
        pytest.param(
            {"sentiments": sentiments({"value": "negative", "type": "external"})},
            Insights(sentiment="Negative"),
            id="sentiment-lowercase-value",
        ),
        pytest.param(
            {"sentiments": sentiments({"value": "NEUTRAL"})},
            Insights(sentiment="Neutral"),
            id="sentiment-untyped-participant-counts-as-external",
        ),
        pytest.param(
            {
                "sentiments": sentiments(
                    {"value": "POSITIVE", "type": "internal"}, {"value": "NEGATIVE", "type": "external"}
                )
            },
            Insights(sentiment="Negative"),
            id="sentiment-internal-participant-ignored",
        ),
        pytest.param(
            {"sentiments": sentiments({"value": "POSITIVE", "type": "internal"})},
            Insights(),
            id="sentiment-only-internal-is-none",
        ),
        pytest.param(
            {"sentiments": sentiments({"value": "MIXED", "type": "external"})},
            Insights(),
            id="sentiment-unknown-value-is-none",
        ),
        pytest.param({"sentiments": sentiments()}, Insights(), id="sentiment-no-participants"),
        # action items: the documented wrapper, a bare list, or plain strings
        pytest.param(
            {
                "action_items": {
                    "call_id": 1,
                    "action_items": [
                        {"id": 7, "content": "Send the quote", "ai_generated": True},
                        {"id": 8, "content": "  "},
                    ],
                }
            },
            Insights(action_items=[ActionItem(id="7", text="Send the quote")]),
            id="action-items-wrapped-blank-dropped",
        ),
        pytest.param(
            {"action_items": [{"id": "a1", "content": " Call back Tuesday "}]},
            Insights(action_items=[ActionItem(id="a1", text="Call back Tuesday")]),
            id="action-items-bare-list",
        ),
        pytest.param(
            {"action_items": {"action_items": ["Book a visit", ""]}},
            Insights(action_items=[ActionItem(id="Book a visit", text="Book a visit")]),
            id="action-items-strings-are-their-own-id",
        ),
        pytest.param({"action_items": {"action_items": None}}, Insights(), id="action-items-null"),
        # transcription: who said what
        pytest.param(
            {
                "transcription": transcription(
                    utter("Hello?", "external", phone_number="+33679198915"),
                    utter("Hi, Acme here.", "internal", user_id=123),
                    utter("How can I help?", "ai_voice_agent", ai_voice_agent_id=9001),
                    utter("Hold on.", "internal", user_id=999),
                    utter("   ", "external"),
                    utter(None, "external"),
                )
            },
            Insights(
                transcription=[
                    ("Caller", "Hello?"),
                    ("Madelaine Dupont", "Hi, Acme here."),
                    ("AI Voice Agent", "How can I help?"),
                    ("Agent", "Hold on."),
                ]
            ),
            id="transcription-speakers-named-blank-lines-dropped",
        ),
        pytest.param({"transcription": transcription()}, Insights(), id="transcription-no-utterances"),
    ],
)
def test_parse(contents: dict[str, Any], expected: Insights) -> None:
    assert parse(contents, AGENTS) == expected


# ---- render ------------------------------------------------------------------------------------------------

TITLE = "Inbound call answered by Madelaine Dupont"
EVERYTHING = Insights(
    summary="Wants a quote for spring cleanup.",
    topics=["billing", "quote"],
    sentiment="Positive",
    action_items=[ActionItem("1", "Send the quote"), ActionItem("2", "Book a visit")],
    transcription=[
        ("Caller", "Hello?"),
        ("Madelaine Dupont", "Hi, Acme here."),
        ("AI Voice Agent", "One moment."),
    ],
)
FULL_NOTE = """\
AI insights — Inbound call answered by Madelaine Dupont
Summary: Wants a quote for spring cleanup.
Topics: billing, quote
Sentiment: Positive
Action items:
- Send the quote
- Book a visit
Transcription:
- Caller: Hello?
- Madelaine Dupont: Hi, Acme here.
- AI Voice Agent: One moment.
Aircall: https://api.aircall.io/v1/calls/1234567890"""


@pytest.mark.parametrize(
    ("insights", "ai", "link", "expected"),
    [
        pytest.param(EVERYTHING, ALL_ON, LINK, FULL_NOTE, id="every-part-in-spec-order"),
        pytest.param(EVERYTHING, ALL_ON, None, FULL_NOTE.rsplit("\n", 1)[0], id="no-link-no-aircall-line"),
        pytest.param(
            EVERYTHING,
            AiLogging(enabled=True, transcription=False, action_items=False),
            LINK,
            "AI insights — Inbound call answered by Madelaine Dupont\n"
            "Summary: Wants a quote for spring cleanup.\nTopics: billing, quote\nSentiment: Positive\n"
            "Aircall: " + LINK,
            id="switched-off-parts-left-out",
        ),
        pytest.param(
            Insights(sentiment="Neutral"),
            ALL_ON,
            LINK,
            f"AI insights — {TITLE}\nSentiment: Neutral\nAircall: {LINK}",
            id="only-what-arrived",
        ),
        pytest.param(Insights(), ALL_ON, LINK, None, id="nothing-yet-is-no-note-even-with-a-link"),
        pytest.param(
            EVERYTHING,
            AiLogging(
                enabled=True,
                transcription=False,
                summary=False,
                topics=False,
                action_items=False,
                sentiment=False,
            ),
            LINK,
            None,
            id="everything-switched-off-is-no-note",
        ),
        pytest.param(
            Insights(summary="x"),
            AiLogging(enabled=True, summary=False),
            LINK,
            None,
            id="only-part-present-is-switched-off",
        ),
        pytest.param(
            Insights(topics=["élagage", "devis"]),
            ALL_ON,
            None,
            f"AI insights — {TITLE}\nTopics: élagage, devis",
            id="unicode-topics",
        ),
    ],
)
def test_render(insights: Insights, ai: AiLogging, link: str | None, expected: str | None) -> None:
    assert render(TITLE, insights, ai, link) == expected


def test_parse_then_render_end_to_end_from_the_documented_bodies() -> None:
    contents = {
        "summary": {"summary": {"id": 974, "call_id": 786, "content": "Short summary of the call"}},
        "topics": {"topic": {"id": 786, "call_id": 123, "content": ["payment", "billing"]}},
        "sentiments": sentiments({"phone_number": "+33679198915", "value": "POSITIVE", "type": "external"}),
        "transcription": transcription(
            utter("Okay,", "external"), utter("Okay, I guess that's enough.", "internal", user_id=123)
        ),
    }
    assert render("Missed inbound call", parse(contents, AGENTS), ALL_ON, LINK) == (
        "AI insights — Missed inbound call\n"
        "Summary: Short summary of the call\n"
        "Topics: payment, billing\n"
        "Sentiment: Positive\n"
        "Transcription:\n"
        "- Caller: Okay,\n"
        "- Madelaine Dupont: Okay, I guess that's enough.\n"
        f"Aircall: {LINK}"
    )


# ---- which kinds are wanted --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "settings", "expected"),
    [
        pytest.param("transcription.created", {}, True, id="transcription-on-by-default"),
        pytest.param("transcription.created", {"transcription": False}, False, id="transcription-off"),
        pytest.param("summary.created", {"summary": False}, False, id="summary-off"),
        pytest.param("topics.created", {"topics": False}, False, id="topics-off"),
        pytest.param("topics.created", {"sentiment": False}, True, id="topics-unaffected-by-sentiment"),
        pytest.param(
            "topics.created",
            {"topics": False, "topics_as_tags": True},
            False,
            id="topics-as-tags-does-not-switch-topics-on",
        ),
        pytest.param(
            "sentiment.created", {"sentiment": False}, False, id="sentiments-kind-follows-sentiment-setting"
        ),
        pytest.param("sentiment.created", {"topics": False}, True, id="sentiment-unaffected-by-topics"),
        pytest.param("action_item.created", {"action_items": False}, False, id="action-items-off"),
        pytest.param(
            "action_item.created",
            {"action_items": False, "action_items_as_tasks": True},
            False,
            id="as-tasks-does-not-switch-action-items-on",
        ),
    ],
)
def test_wanted_follows_the_setting_of_each_kind(
    event: str, settings: dict[str, bool], expected: bool
) -> None:
    assert wanted(EVENT_KINDS[event], AiLogging(enabled=True, **settings)) is expected
