"""Finding a Jobber client by phone whatever format the number was typed in (SPEC F5).

How Jobber's phone search treats formats is unconfirmed (jobber-api.md §5.3), and `normalizedPhoneNumber` is
nullable: the search term must be a literal substring of every common format, and the match is decided by
parsing each hit's number with libphonenumber."""

from __future__ import annotations

import pytest

from clients.jobber import MAX_SPELLINGS
from domain.matching import Candidate, choose_client
from domain.phone import same_number, search_spellings, search_term, to_e164
from sandbox.jobber.phone_search import READINGS, PhoneSearch
from tests.support.search_readings import unreachable

FORMATS = {
    ("+14155550100", "US"): [
        "(415) 555-0100",
        "415.555.0100",
        "415-555-0100",
        "+1 415 555 0100",
        "14155550100",
        "1-415-555-0100",
        "+1 (415) 555-0100",
        "4155550100",
        "415 555 0100",
        "+14155550100",
        "1 (415) 555-0100",
        "1.415.555.0100",
        "415-555-0100 ext. 12",
        "+1-415-555-0100",
    ],
    ("+16045550188", "CA"): ["(604) 555-0188", "604.555.0188", "1 604 555 0188", "+1 604-555-0188"],
    ("+442079460958", "GB"): [
        "020 7946 0958",
        "+44 20 7946 0958",
        "02079460958",
        "(020) 7946 0958",
        "+44 (0)20 7946 0958",
        "+442079460958",
        "0044 20 7946 0958",
    ],
    ("+447700900123", "GB"): ["07700 900123", "+44 7700 900123", "07700 900 123", "+447700900123"],
    ("+33612345678", "FR"): [
        "06 12 34 56 78",
        "+33 6 12 34 56 78",
        "0612345678",
        "06.12.34.56.78",
        "+33612345678",
    ],
    ("+61412345678", "AU"): ["0412 345 678", "+61 412 345 678", "0412345678", "+61412345678"],
}
CASES = [(e164, region, typed) for (e164, region), formats in FORMATS.items() for typed in formats]


@pytest.mark.parametrize(("e164", "region", "typed"), CASES)
def test_the_search_term_is_a_literal_substring_of_every_common_format(
    e164: str, region: str, typed: str
) -> None:
    assert search_term(e164) in typed


@pytest.mark.parametrize(("e164", "region", "typed"), CASES)
def test_every_common_format_parses_to_the_number(e164: str, region: str, typed: str) -> None:
    assert same_number(typed, e164, region)


@pytest.mark.parametrize(
    ("e164", "term"),
    [
        ("+14155550100", "0100"),
        ("+442079460958", "0958"),
        ("+447700900123", "123"),
        ("+33612345678", "78"),
        ("+61412345678", "678"),
    ],
)
def test_the_term_is_the_last_digit_group_at_most_four_long(e164: str, term: str) -> None:
    assert search_term(e164) == term


def test_the_spellings_asked_for_at_once() -> None:
    assert search_spellings("+14155550100") == ["0100", "4155550100", "+14155550100", "(415) 555-0100"]
    # A trunk prefix makes the national number's digits a spelling of their own.
    assert search_spellings("+33612345678") == [
        "78",
        "612345678",
        "+33612345678",
        "06 12 34 56 78",
        "0612345678",
    ]
    assert len(search_spellings("+442079460958")) <= MAX_SPELLINGS


@pytest.mark.parametrize("reading", [r for r in READINGS if r != "e164_exact"])
@pytest.mark.parametrize("normalized", [True, False], ids=["normalized", "null"])
@pytest.mark.parametrize(("e164", "region", "typed"), CASES)
def test_some_spelling_finds_every_common_format_under_every_reading(
    e164: str, region: str, typed: str, reading: str, normalized: bool
) -> None:
    """The sandbox's model of each reading (sandbox/jobber/phone_search.py): one of the spellings asked for
    finds the number as typed, whether or not Jobber gives its E.164 form."""
    search = PhoneSearch(reading, normalized)
    found = any(search.matches(typed, to_e164(typed, region), term) for term in search_spellings(e164))
    # The few formats out of reach are exactly those `unreachable` names (the README lists them).
    assert found is not unreachable({"reading": reading, "normalized": normalized}, typed), search_spellings(
        e164
    )


@pytest.mark.parametrize(("e164", "region", "typed"), CASES)
def test_the_e164_spelling_finds_every_format_when_only_the_normalized_field_is_searched(
    e164: str, region: str, typed: str
) -> None:
    assert PhoneSearch("e164_exact").matches(typed, to_e164(typed, region), e164)


@pytest.mark.parametrize(
    ("number", "normalized", "region", "matches"),
    [
        ("(415) 555-0100", None, "US", True),  # normalizedPhoneNumber is nullable: the number decides
        ("14155550100", None, "US", True),
        ("415-555-0101", None, "US", False),  # the search hit a neighbour
        ("555-0100", None, "US", False),  # no area code: not this number
        ("+1 415 555 0100", "+14155550100", "US", True),
        ("whatever", "+14155550100", "US", True),  # Jobber's E.164 form is enough
        ("020 7946 0958", None, "GB", True),  # the Aircall line's country is the default region
        ("020 7946 0958", None, "US", False),
        (
            "+44 20 7946 0958",
            "+12079460958",
            "US",
            True,
        ),  # a normalisation with another region is not trusted blindly
    ],
)
def test_a_hit_matches_by_its_e164_form_or_its_number_as_typed(
    number: str, normalized: str | None, region: str, matches: bool
) -> None:
    e164 = "+442079460958" if "7946" in number else "+14155550100"
    chosen = choose_client([Candidate("c1", number, normalized, "2026-01-01T00:00:00Z", False)], e164, region)
    assert (chosen == "c1") is matches
