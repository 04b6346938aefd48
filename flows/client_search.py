"""Finding the Jobber client of a phone number through `clientPhones(searchTerm:)` (SPEC F5).

How Jobber's search matches is UNCONFIRMED (jobber-api.md §5.3): a substring of the number as typed, a prefix
or exact match of its digits, whole tokens, or the E.164 form only; and `normalizedPhoneNumber` may be null.
So one request asks for every spelling of the number at once (domain.phone.search_spellings, one aliased field
each), the hits of all of them are pooled, and each hit is decided by parsing its number (domain.matching).

Hits come sorted by most recently updated client (the schema's own description), so the newest match among
the first pages is the answer unless a spelling with more pages still had newer hits on its last page read:
only those spellings are read further, together, in one request per round. A caller whose number is on the
first pages -- nearly all of them -- costs one request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from clients.jobber import JobberClient, PhoneHit, PhoneQuery
from domain.matching import Candidate, ClientRef, choose_client, recency
from domain.phone import search_spellings

log = logging.getLogger(__name__)

# The tail matches every number ending the same way (1 in 10,000 phones for a four-digit tail, 1 in 100 for a
# French mobile's "78"); the other spellings match the number's own phones, so a short page holds them.
TAIL_PAGE = 25
SPELLING_PAGE = 10
ROUNDS = 8  # a tail shared by more than 200 phones: a very large account; the other spellings end sooner


@dataclass
class _Spelling:
    term: str
    first: int
    after: str | None = None
    oldest_seen: tuple[float, str] | None = None  # (updated, client id) of the last hit read
    done: bool = False


def search_client(
    jobber: JobberClient, e164: str, region: str | None, known: ClientRef | None = None
) -> ClientRef | None:
    """The client for this number, or None when no client has it. `known`: a client that has the number but
    that the search may not show yet (one we just created: flows.activity); it competes with the hits."""
    spellings = [
        _Spelling(term, TAIL_PAGE if i == 0 else SPELLING_PAGE)
        for i, term in enumerate(search_spellings(e164))
    ]
    candidates: list[Candidate] = []
    clients: dict[str, ClientRef] = {}
    if known is not None:
        candidates.append(Candidate(known.id, e164, e164, known.updated_at, archived=False))
        clients[known.id] = known
    for _ in range(ROUNDS):
        reading = [s for s in spellings if not s.done]
        pages = jobber.find_phones([PhoneQuery(s.term, s.first, s.after) for s in reading])
        for spelling, page in zip(reading, pages, strict=True):
            for hit in page.hits:
                candidates.append(_candidate(hit))
                clients.setdefault(hit.client.id, hit.client)
            if page.hits:
                spelling.oldest_seen = recency(candidates[-1])
            spelling.after = page.next_cursor
            spelling.done = page.next_cursor is None
        chosen = choose_client(candidates, e164, region)
        best = next((recency(c) for c in candidates if c.client_id == chosen), None)
        for spelling in spellings:
            # Later pages of a spelling hold clients updated before its last hit read: none can beat `best`.
            if best is not None and spelling.oldest_seen is not None and spelling.oldest_seen <= best:
                spelling.done = True
        if all(s.done for s in spellings):
            return clients[chosen] if chosen is not None else None
    log.warning(
        "tasks.client_search.overflow rounds=%d (more hits than read; the newest match read wins)", ROUNDS
    )
    chosen = choose_client(candidates, e164, region)
    return clients[chosen] if chosen is not None else None


def _candidate(hit: PhoneHit) -> Candidate:
    return Candidate(hit.client.id, hit.number, hit.normalized, hit.client.updated_at, hit.archived)
