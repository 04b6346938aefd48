"""The one insight card per ringing call (SPEC F1): which event claimed it, and whether it was posted."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from domain.scope import Scope
from store import keys

CLAIM_TTL_S = 86400  # far longer than any ringing window; then the key goes


@dataclass(frozen=True)
class Claim:
    mine: bool  # this event holds the claim (first, or again after a retry)
    posted: bool  # this event already posted the card
    holder: str  # the event that holds it


class CardClaims:
    def __init__(self, r: redis.Redis):
        self.r = r

    def claim(self, scope: Scope, call_id: int | str, event_id: str) -> Claim:
        """Claim the call's card for `event_id` unless another event has (call.created and
        call.ringing_on_agent race: the first wins, a retry of the winner finds its own claim)."""
        holder: str | None = self.r.set(  # type: ignore[assignment]
            keys.card_claim(scope, call_id), event_id, nx=True, ex=CLAIM_TTL_S, get=True
        )
        if holder is None or holder == event_id:
            return Claim(mine=True, posted=False, holder=event_id)
        owner = holder.removeprefix("posted:")
        return Claim(
            mine=owner == event_id, posted=holder.startswith("posted:") and owner == event_id, holder=owner
        )

    def posted(self, scope: Scope, call_id: int | str, event_id: str) -> None:
        self.r.set(keys.card_claim(scope, call_id), f"posted:{event_id}", ex=CLAIM_TTL_S)
