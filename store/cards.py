"""The one insight card per ringing call (SPEC F1): which event claimed it, and whether it was posted."""

from __future__ import annotations

from dataclasses import dataclass

from domain.scope import Scope
from store import keys
from store.redis import RedisClient
from store.stats import queue_observation

CLAIM_TTL_S = 86400  # far longer than any ringing window; then the key goes


@dataclass(frozen=True)
class Claim:
    mine: bool  # this event holds the claim (first, or again after a retry)
    posted: bool  # this event already posted the card
    holder: str  # the event that holds it


class CardClaims:
    def __init__(self, r: RedisClient):
        self.r = r

    def claim(self, scope: Scope, call_id: int | str, event_id: str) -> Claim:
        """Claim the call's card for `event_id` unless another event has (call.created and
        call.ringing_on_agent race: the first wins, a retry of the winner finds its own claim)."""
        holder = self.r.set(keys.card_claim(scope, call_id), event_id, nx=True, ex=CLAIM_TTL_S, get=True)
        if holder is None or holder == event_id:
            return Claim(mine=True, posted=False, holder=event_id)
        owner = holder.removeprefix("posted:")
        return Claim(
            mine=owner == event_id, posted=holder.startswith("posted:") and owner == event_id, holder=owner
        )

    def posted(self, scope: Scope, call_id: int | str, event_id: str, seconds: float | None = None) -> None:
        """The card is posted; `seconds`: since the claiming event's webhook was received (aj_card_seconds),
        recorded in the same round trip."""
        pipe = self.r.pipeline(transaction=False)
        pipe.set(keys.card_claim(scope, call_id), f"posted:{event_id}", ex=CLAIM_TTL_S)
        if seconds is not None:
            queue_observation(pipe, keys.STAT_CARD_SECONDS, keys.CARD_SECONDS_BUCKETS, max(0.0, seconds))
        pipe.execute()
