"""Pure checks behind the hostile-input answers (issue 10): labels, redaction, signatures, Jobber shapes."""

import base64
import hashlib
import hmac
import json

import orjson
import pytest

from domain.envelope import REDACTED, EnvelopeError, event_id, event_label, parse_envelope, redacted_raw
from domain.jobber_webhooks import WebhookError, parse_webhook, signature_ok


@pytest.mark.parametrize(
    ("event", "label"),
    [
        ("call.ended", "call.ended"),
        ("ai_voice_agent.summary", "ai_voice_agent.summary"),
        ("ai_voice_agent.escalated", "ai_voice_agent.escalated"),
        ("ai_voice_agent.anything-else", "other"),
        ("user.opened.v2", "other"),
        ("x" * 10_000, "other"),
    ],
)
def test_event_labels_are_a_fixed_set(event, label):
    assert event_label(event) == label


def test_data_deeper_than_the_canonical_form_holds_is_an_envelope_error():
    deep: object = 0
    for _ in range(300):
        deep = [deep]
    with pytest.raises(EnvelopeError, match="nested too deeply"):
        event_id("tenant", "call.ended", {"id": 1, "x": deep})


def escaped(text: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in text)


@pytest.mark.parametrize(
    ("token", "spelled"),
    [
        ("whk-0123abcd", "whk-0123abcd"),
        ("whk-0123abcd", escaped("whk-0123abcd")),
        ("whk-0123abcd", "whk-" + escaped("0") + "123abcd"),
        ("a/b/c-token", "a\\/b\\/c-token"),
        ('quote"and\\back', 'quote\\"and\\\\back'),
        ('quote"and\\back', escaped('quote"and\\back')),
        ("tab\there", "tab\\there"),
        ("tab\there", "tab\\u0009here"),
    ],
)
def test_the_token_is_masked_however_json_spells_it(token, spelled):
    body = '{"event": "call.ended", "token": "TOKEN", "data": {"id": 1, "note": "x TOKEN y"}}'
    body = body.replace("TOKEN", spelled)
    doc = orjson.loads(body)
    env = parse_envelope(doc)
    assert env.token == token

    raw = redacted_raw(body, env, doc)

    stored = json.loads(raw)
    assert stored["token"] == REDACTED
    assert stored["data"] == {"id": 1, "note": f"x {REDACTED} y"}
    assert token not in raw and spelled not in raw


def test_an_ordinary_body_is_stored_as_sent_but_the_token():
    body = '{"event":"call.ended",  "token":"whk-1","data":{"id":1, "n": 1.50}}'
    doc = orjson.loads(body)
    assert redacted_raw(body, parse_envelope(doc), doc) == body.replace("whk-1", REDACTED)


def sign(body: bytes, secret: str = "s") -> bytes:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        (sign(b"{}"), True),
        (sign(b"{}").decode(), True),
        (b" " + sign(b"{}") + b"\n", True),
        (sign(b"{}", "other"), False),
        ("é" * 44, False),
        (b"\xff" * 44, False),
        ("\ud800", False),
        ("", False),
        (None, False),
    ],
)
def test_any_signature_header_is_answered_without_raising(header, ok):
    assert signature_ok(b"{}", header, "s") is ok


def jobber(**event):
    fields = {"topic": "CLIENT_UPDATE", "accountId": "a", "itemId": "c1", "occurredAt": "2026-01-01"}
    return {"data": {"webHookEvent": {**fields, **event}}}


@pytest.mark.parametrize(
    "doc",
    [
        None,
        [],
        "x",
        {"data": [1]},
        {"data": "x"},
        {"data": {"webHookEvent": []}},
        jobber(topic=1),
        jobber(accountId=["a"]),
        jobber(itemId={"x": 1}),
        jobber(itemId=True),
        jobber(itemId=[[[]]]),
        jobber(occurredAt=5),
        jobber(occurredAt={"a": 1}),
    ],
)
def test_jobber_payloads_of_odd_shapes_are_refused(doc):
    with pytest.raises(WebhookError):
        parse_webhook(doc)


def test_jobber_ids_may_be_numbers_and_missing_ones_are_empty():
    assert parse_webhook(jobber(itemId=12)).item_id == "12"
    assert parse_webhook(jobber(itemId=None, occurredAt=None)).item_id == ""
