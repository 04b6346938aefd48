"""Phone numbers: E.164 normalisation with libphonenumber, and the digits Jobber's search is given."""

from __future__ import annotations

import phonenumbers

WITHHELD = {"anonymous", "unknown", "private", "restricted", "withheld", ""}


def to_e164(raw: str | None, default_region: str | None = None) -> str | None:
    """E.164 for a number in any display format, or None for withheld / unparseable numbers.

    `default_region` (the Aircall line's country) resolves national formats like "(415) 555-0100".
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


def region_of(e164: str | None) -> str | None:
    """The ISO region of an E.164 number (e.g. the Aircall line's), for parsing the other party's number."""
    if not e164:
        return None
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None)) or None
    except phonenumbers.NumberParseException:
        return None


def national_digits(e164: str) -> str:
    """The national significant number ("4155550100" for +14155550100): what Jobber's phone search gets.
    How Jobber matches formats is UNCONFIRMED (jobber-api.md §5.3), so results are post-filtered."""
    return str(phonenumbers.parse(e164, None).national_number)


def same_number(candidate: str | None, e164: str, region: str | None = None) -> bool:
    """Does a Jobber phone (as entered, any format) denote this E.164 number?"""
    return bool(candidate) and to_e164(candidate, region or region_of(e164)) == e164
