"""Every plausible reading of Jobber's phone search (jobber-api.md §5.3 leaves it UNCONFIRMED), as the sandbox
Jobber plays them (sandbox/jobber/phone_search.py): the matching tests run under each one."""

from __future__ import annotations

import re
from typing import Any

import requests

from sandbox.jobber.phone_search import READINGS

# Each reading with `normalizedPhoneNumber` filled, then with it null (except E.164-only, which searches
# nothing else: with the field null no client could ever be found, whatever the product did).
SEARCH_READINGS: list[dict[str, Any]] = [{"reading": r, "normalized": True} for r in READINGS] + [
    {"reading": r, "normalized": False} for r in READINGS if r != "e164_exact"
]
SEARCH_READING_IDS = [f"{s['reading']}{'' if s['normalized'] else '+null'}" for s in SEARCH_READINGS]
# Readings under which the number's last digits alone find "(303) 555-0100": a search for the tail pages
# through every phone that ends the same way.
TAIL_MATCHES = {"digits", "substring", "token"}


def use_reading(jobber_base: str, reading: dict[str, Any]) -> None:
    response = requests.post(f"{jobber_base}/_sandbox/phone_search", json=reading, timeout=5)
    response.raise_for_status()


def unreachable(reading: dict[str, Any], typed: str) -> bool:
    """Is a number typed this way out of every spelling's reach under this reading? Only without
    `normalizedPhoneNumber`, and only where what was typed is not the number's digits: an international call
    prefix ("0044 …") or a "(0)" inside them under the digit-prefix and digit-exact readings, an extension
    after them ("… x3") under digit-exact. The README lists these."""
    if reading["normalized"]:
        return False
    foreign_digits = typed.lstrip().startswith("00") or "(0)" in typed
    extension = re.search(r"(x|ext\.?)\s*\d+\s*$", typed) is not None
    return (reading["reading"] in ("prefix", "digits_exact") and foreign_digits) or (
        reading["reading"] == "digits_exact" and extension
    )
