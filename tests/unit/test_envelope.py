"""Webhook envelopes: what is accepted, the resource id, and the idempotency identity of a delivery."""

import pytest

from domain.envelope import EnvelopeError, event_id, parse_envelope, resource_id_of


def envelope(**overrides):
    return {
        "resource": "call",
        "event": "call.ended",
        "timestamp": 1,
        "token": "t",
        "data": {"id": 42},
    } | overrides


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "JSON object"),
        (envelope(event=None), "event"),
        (envelope(token=""), "token"),
        (envelope(data="x"), "data"),
        (envelope(data={}), "data.id"),
    ],
)
def test_unusable_envelopes_are_refused(doc, message):
    with pytest.raises(EnvelopeError, match=message):
        parse_envelope(doc)


def test_the_real_integration_deleted_payload_is_accepted():
    env = parse_envelope(
        envelope(
            resource="integration", event="integration.deleted", data={"integration_id": 42, "company_id": 1}
        )
    )
    assert env.routed and env.resource_id == "42"


def test_unknown_event_types_are_accepted_but_not_routed():
    env = parse_envelope(envelope(event="user.opened.v2", data={}))
    assert not env.routed and env.resource_id == ""


@pytest.mark.parametrize(
    ("event", "data", "expected"),
    [
        ("call.ended", {"id": 1234567890123}, "1234567890123"),
        ("message.received", {"id": "abcdSM11"}, "abcdSM11"),
        ("transcription.created", {"id": 68271, "call_id": "5237603"}, "5237603"),
        ("ai_voice_agent.summary", {"call": {"id": 9}}, "9"),
        ("call.ended", {"id": True}, None),
        # aircall-api.md §1.4: `integration.deleted` carries `data: {integration_id, company_id}`, no `id`.
        ("integration.deleted", {"integration_id": 42, "company_id": 1}, "42"),
        ("integration.deleted", {"id": 7, "company_id": 1}, "7"),
        ("integration.deleted", {"company_id": 1}, None),
    ],
)
def test_resource_id_is_the_call_for_call_ai_and_voice_agent_events(event, data, expected):
    assert resource_id_of(event, data) == expected


def test_event_id_is_stable_for_redeliveries_and_distinct_for_new_content():
    a = event_id("tenant", "call.commented", {"id": 1, "comments": [{"id": 1, "content": "x"}]})
    again = event_id("tenant", "call.commented", {"comments": [{"content": "x", "id": 1}], "id": 1})
    second_comment = event_id("tenant", "call.commented", {"id": 1, "comments": [{"id": 1}, {"id": 2}]})
    other_tenant = event_id("other", "call.commented", {"id": 1, "comments": [{"id": 1, "content": "x"}]})
    assert a == again
    assert len({a, second_comment, other_tenant}) == 3
    assert a.startswith("ev_")
