"""Which Jobber client a phone number belongs to (SPEC F5), decided from search results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.phone import same_number


@dataclass(frozen=True)
class ClientRef:
    """A matched Jobber client, with what the default insight card shows (so a cached match
    needs no query)."""

    id: str
    name: str
    web_uri: str
    updated_at: str = ""
    company_name: str = ""
    email: str = ""


@dataclass(frozen=True)
class Candidate:
    """One phone search hit: the number as entered, Jobber's E.164 form (nullable), and its client."""

    client_id: str
    number: str
    normalized: str | None
    updated_at: str
    archived: bool


def recency(candidate: Candidate) -> tuple[float, str]:
    """How recently the candidate's client was updated, as the order clients are chosen in (ties: by id)."""
    try:
        updated = datetime.fromisoformat(candidate.updated_at.replace("Z", "+00:00"))
    except ValueError:
        return (0.0, candidate.client_id)
    return (updated.timestamp() if updated.tzinfo else 0.0, candidate.client_id)


def choose_client(candidates: list[Candidate], e164: str, region: str | None = None) -> str | None:
    """The most recently updated non-archived client with exactly this number, or None.

    Search results are only hints: a hit counts when its `normalizedPhoneNumber` equals the
    E.164 number, or when the number as entered parses to it with the Aircall line's country as
    default region -- `normalizedPhoneNumber` is nullable, and Jobber may have normalised with
    another region (jobber-api.md §5.3).
    """
    exact = [
        c
        for c in candidates
        if not c.archived and (c.normalized == e164 or same_number(c.number, e164, region))
    ]
    if not exact:
        return None
    return max(exact, key=recency).client_id
