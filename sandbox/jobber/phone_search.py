"""How the sandbox's phone search matches: each plausible reading of Jobber's, which is UNCONFIRMED
(jobber-api.md §5.3), so the product's tests can run under every one of them.

A reading says when `clientPhones(searchTerm:)` (and `clients(searchFields: [PHONES])`) finds a phone:

- `digits` (the default): the term's digits occur within the digits of the number as typed, or of its E.164
  form -- a lenient search that ignores formatting;
- `substring`: the term, as typed, occurs within the number as typed ("0100" finds "415.555.0100",
  "4155550100" does not);
- `prefix`: the number's digits (as typed, or of its E.164 form) begin with the term's digits;
- `token`: every digit group of the term is a whole digit group of the number as typed (or the E.164 form's
  digits): "0100" finds "(415) 555-0100" but not "4155550100";
- `digits_exact`: the term's digits are all the number's digits (as typed, or of its E.164 form);
- `e164_exact`: the term is exactly `normalizedPhoneNumber` (only the normalized field is searched).

Independently, `normalized: false` answers `normalizedPhoneNumber` as null (the schema allows it) and then no
reading can use it. And `lag_s` keeps new or changed phones out of every search for that long after the
change, as a search index that lags the database does (jobber-api.md §5.3, "Search lags creation"); reading a
client by id shows them at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

READINGS = ("digits", "substring", "prefix", "token", "digits_exact", "e164_exact")


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _groups(text: str) -> list[str]:
    return re.findall(r"\d+", text)


@dataclass
class PhoneSearch:
    reading: str = "digits"
    normalized: bool = True
    lag_s: float = 0.0

    def problem(self) -> str | None:
        """Why this combination is not a reading at all, or None."""
        if self.reading not in READINGS:
            return f"reading must be one of {', '.join(READINGS)}"
        if self.reading == "e164_exact" and not self.normalized:
            return "e164_exact searches normalizedPhoneNumber only: with it null nothing could ever be found"
        if self.lag_s < 0:
            return "lag_s must be >= 0"
        return None

    def shown(self, normalized: str | None) -> str | None:
        """`normalizedPhoneNumber` as answered."""
        return normalized if self.normalized else None

    def matches(self, number: str, normalized: str | None, term: str) -> bool:
        """Does a search for `term` find the phone typed `number` (E.164 form `normalized`, or None)?"""
        term = term.strip()
        normalized = self.shown(normalized)
        wanted = _digits(term)
        forms = [_digits(number)] + ([_digits(normalized)] if normalized else [])
        if self.reading == "substring":
            return bool(term) and term in number
        if self.reading == "e164_exact":
            return normalized is not None and term == normalized
        if not wanted:
            return False
        if self.reading == "digits":
            return any(wanted in form for form in forms)
        if self.reading == "prefix":
            return any(form.startswith(wanted) for form in forms)
        if self.reading == "digits_exact":
            return wanted in forms
        tokens = set(_groups(number)) | ({_digits(normalized)} if normalized else set())
        return all(group in tokens for group in _groups(term))
