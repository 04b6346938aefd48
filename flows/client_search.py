"""Finding the Jobber client of a phone number through `clientPhones(searchTerm:)` (SPEC F5).

How Jobber's search treats number formats is UNCONFIRMED (jobber-api.md §5.3): it may compare digits, or match
the term only as text within the number as typed, and `normalizedPhoneNumber` may be null. So the term is a
literal substring of every common spelling of the number (domain.phone.search_term), the hits are read page by
page (bounded), and each is decided by parsing its number (domain.matching). Hits come sorted by most recently
updated client (the schema's own description), so the first page holding a match holds the best one: a match
on the first page costs one request.
"""

from __future__ import annotations

import logging

from clients.jobber import JobberClient
from domain.matching import Candidate, ClientRef, choose_client
from domain.phone import search_terms

log = logging.getLogger("tasks.client_search")

PAGE_SIZE = 25
PAGES_PER_TERM = 8  # 200 hits: a four-digit tail shared by more phones than that is a very large account


def search_client(jobber: JobberClient, e164: str, region: str | None) -> ClientRef | None:
    """The client for this number, or None when no client has it."""
    for term in search_terms(e164):
        found, complete = _search(jobber, term, e164, region)
        if found is not None or complete:
            return found
        # More hits than we read, none of them the number: try a narrower term (the number's own spellings).
        log.warning("tasks.client_search.overflow term_length=%d pages=%d", len(term), PAGES_PER_TERM)
    return None


def _search(jobber: JobberClient, term: str, e164: str, region: str | None) -> tuple[ClientRef | None, bool]:
    """(the match, whether every hit was read)."""
    candidates: list[Candidate] = []
    clients: dict[str, ClientRef] = {}
    after: str | None = None
    for _ in range(PAGES_PER_TERM):
        hits, after = jobber.find_phones(term, first=PAGE_SIZE, after=after)
        for hit in hits:
            candidates.append(
                Candidate(hit.client.id, hit.number, hit.normalized, hit.client.updated_at, hit.archived)
            )
            clients[hit.client.id] = hit.client
        chosen = choose_client(candidates, e164, region)
        if chosen is not None:
            return clients[chosen], True  # later pages hold less recently updated clients only
        if after is None:
            return None, True
    return None, False
