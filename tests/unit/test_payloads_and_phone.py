"""Payload quirks and phone normalisation (aircall-api.md §1-§3; SPEC F5)."""

from datetime import UTC, datetime

import pytest

from domain.matching import Candidate, choose_client
from domain.payloads import Call, Message, parse_time
from domain.phone import same_number, to_e164

T = datetime(2024, 11, 26, 12, 8, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        1732622895,
        "1732622895",
        1732622895000,
        "2024-11-26T12:08:15Z",
        "2024-11-26T12:08:15.000Z",
        "2024-11-26T12:08:15+00:00",
    ],
)
def test_timestamps_in_seconds_milliseconds_or_iso(value):
    assert parse_time(value) == T


@pytest.mark.parametrize("value", [None, "", "yesterday", True])
def test_unusable_timestamps_are_none(value):
    assert parse_time(value) is None


def test_call_tolerates_empty_nested_objects_and_string_ids():
    call = Call.model_validate(
        {
            "id": "123",
            "user": {},
            "number": {},
            "contact": None,
            "tags": None,
            "comments": None,
            "started_at": "1732622895",
        }
    )
    assert (
        call.id == 123
        and call.user is None
        and call.number is None
        and call.tags == []
        and call.started_at == T
    )


def test_message_accepts_media_details_or_media_url_and_either_number_field():
    a = Message.model_validate(
        {
            "id": 5,
            "raw_digits": "+1 415-555-0100",
            "media_details": [{"file_name": "x.jpg", "presigned_url": "https://m/x.jpg"}],
        }
    )
    b = Message.model_validate(
        {
            "id": "SM1",
            "external_number": "+1 415-555-0100",
            "media_url": ["https://m/y.jpg"],
            "created_at": 1732622895000,
        }
    )
    assert a.id == "5" and a.external == "+1 415-555-0100" and [m.url for m in a.media] == ["https://m/x.jpg"]
    assert [m.url for m in b.media] == ["https://m/y.jpg"] and b.created_at == T


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+1 415-555-0100", None, "+14155550100"),
        ("(415) 555-0100", "US", "+14155550100"),
        ("415.555.0100", "us", "+14155550100"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("+33 6 12 34 56 78", "US", "+33612345678"),
        ("anonymous", "US", None),
        ("", "US", None),
        (None, "US", None),
        ("12", "US", None),
        ("not a number", "US", None),
    ],
)
def test_to_e164(raw, region, expected):
    assert to_e164(raw, region) == expected


def test_same_number():
    assert same_number("415 555 0100", "+14155550100")
    assert not same_number("415 555 0101", "+14155550100")
    assert not same_number(None, "+14155550100")


def cand(cid, normalized="+14155550100", updated="2025-01-01T00:00:00Z", archived=False, number="x"):
    return Candidate(
        client_id=cid, number=number, normalized=normalized, updated_at=updated, archived=archived
    )


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        ([], None),
        ([cand("a")], "a"),
        ([cand("a", updated="2025-01-01T00:00:00Z"), cand("b", updated="2025-06-01T00:00:00Z")], "b"),
        ([cand("a"), cand("b", updated="2026-01-01T00:00:00Z", archived=True)], "a"),
        ([cand("a", normalized="+14155550101")], None),  # the search matched a neighbour number
        ([cand("a", normalized=None, number="(415) 555-0100")], "a"),  # normalizedPhoneNumber is nullable
        ([cand("a", normalized=None, number="555-0100 ext 3")], None),
    ],
)
def test_choose_client(candidates, expected):
    assert choose_client(candidates, "+14155550100", "US") == expected
