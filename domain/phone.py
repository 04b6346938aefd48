"""Phone numbers: E.164 normalisation with libphonenumber, and the terms Jobber's phone search is given."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

WITHHELD = {"anonymous", "unknown", "private", "restricted", "withheld", ""}


@lru_cache(maxsize=8192)
def to_e164(raw: str | None, default_region: str | None = None) -> str | None:
    """E.164 for a number in any display format, or None for withheld / unparseable numbers.

    `default_region` (the Aircall line's country) resolves national formats like "(415) 555-0100".
    Pure and costly (libphonenumber parses in Python), so answers are kept: the same callers call again.
    """
    if raw is None or raw.strip().lower() in WITHHELD:
        return None
    try:
        parsed = phonenumbers.parse(raw, (default_region or "US").upper())
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=1024)
def region_of(e164: str | None) -> str | None:
    """The ISO region of an E.164 number (e.g. the Aircall line's), for parsing the other party's number."""
    if not e164:
        return None
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None)) or None
    except phonenumbers.NumberParseException:
        return None


def _digit_groups(text: str) -> list[str]:
    return re.findall(r"\d+", text)


def search_term(e164: str) -> str:
    """The number's tail: a literal substring of every common way to type it, the first of its spellings.

    Typed "(415) 555-0100", "415.555.0100", "+1 415 555 0100" or "14155550100", the number's last digit group,
    as libphonenumber groups it in national and international form, occurs unbroken in all of them: "0100"
    for +14155550100, "0958" for +442079460958, "78" for a French mobile. Groups longer than four are often
    typed split, so then the last three digits are used. Hits are only hints: the match is decided by parsing
    each one (domain.matching)."""
    parsed = phonenumbers.parse(e164, None)
    significant = phonenumbers.national_significant_number(parsed)
    shortest = min(
        len(_digit_groups(phonenumbers.format_number(parsed, fmt))[-1])
        for fmt in (phonenumbers.PhoneNumberFormat.NATIONAL, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    )
    length = shortest if shortest <= 4 else 3
    return significant[-max(2, min(length, len(significant))) :]


def search_spellings(e164: str) -> list[str]:
    """Every spelling of the number that Jobber's phone search is asked for at once (SPEC F5), tail first.

    How `clientPhones(searchTerm:)` matches is UNCONFIRMED (jobber-api.md §5.3): a substring of the number as
    typed, a prefix or an exact match of its digits, whole tokens, or the E.164 form only. Each reading finds
    a number typed in any common format through one of these spellings (tests/unit/test_phone_matching.py
    holds the table): the tail (a substring of every format, and a whole token of the spaced and punctuated
    ones) and the whole last digit group where the tail is shorter, the national significant number and the
    national number's digits (digit prefix or exact match of numbers typed without the country code; they
    differ where a trunk prefix is dialled, as in France's "06…"), E.164 (the normalized field, and numbers
    typed with the country code) and the national format ("(415) 555-0100", the way most people type it)."""
    parsed = phonenumbers.parse(e164, None)
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    spellings = [
        search_term(e164),
        _digit_groups(national)[-1],  # where the tail is shorter: "900123" of a UK mobile
        phonenumbers.national_significant_number(parsed),
        e164,
        national,
        "".join(_digit_groups(national)),
    ]
    return list(dict.fromkeys(spellings))


def same_number(candidate: str | None, e164: str, region: str | None = None) -> bool:
    """Does a Jobber phone (as entered, any format) denote this E.164 number?"""
    return bool(candidate) and to_e164(candidate, region or region_of(e164)) == e164
