"""Phone number helpers shared by the emulator and the scenarios: E.164 and Aircall's display format."""

from __future__ import annotations

import re

import phonenumbers

_E164ISH = re.compile(r"^\+[1-9]\d{6,14}$")
_SEPARATORS = re.compile(r"[\s\-().]")


def strip_separators(value: str) -> str:
    return _SEPARATORS.sub("", value or "")


def is_e164ish(value: str) -> bool:
    """True for `+14155550100` and display forms like `+1 415-555-0100` (Aircall rejects other numbers)."""
    return bool(_E164ISH.match(strip_separators(value)))


def to_e164(value: str, region: str | None = "US") -> str:
    """Best-effort E.164; falls back to the stripped input when libphonenumber cannot parse it."""
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return strip_separators(value)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def display_format(e164: str) -> str:
    """Aircall's `raw_digits` / `digits` style: international format, e.g. `+1 415-555-0100`."""
    if e164 == "anonymous":
        return e164
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def same_number(a: str, b: str) -> bool:
    """Search matching: compare digits only, so `+1 415-555-0100` finds `+14155550100`."""
    da, db = re.sub(r"\D", "", a or ""), re.sub(r"\D", "", b or "")
    return bool(da) and da == db
