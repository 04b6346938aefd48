"""Which Aircall webhook tokens are bound to an integration, asked before a body is shipped to Redis.

The claim script (store.ledger.CLAIM_LUA) is the authority, but it receives the whole raw body (up to
MAX_WEBHOOK_BYTES): an unknown token must be refused before that. Known tokens are remembered in-process for
a short while, so a tenant's steady traffic costs no extra round trip; a miss costs one small HGET. Unknown
tokens are never remembered: an integration installed a second ago must be served at once, and a flood of
made-up tokens must not fill the memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from store import keys
from store.redis import AsyncRedisClient

KNOWN_TTL_S = 30.0  # how stale "this token is bound" may be; the claim re-checks every time anyway
KNOWN_MAX = 10_000  # tokens remembered per process; the oldest is dropped first


class KnownTokens:
    """Token hashes (store.crypto.token_hash) recently seen bound to an integration. Used from one event
    loop, so no lock."""

    def __init__(
        self,
        ttl_s: float = KNOWN_TTL_S,
        max_size: int = KNOWN_MAX,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.ttl_s, self.max_size, self.clock = ttl_s, max_size, clock
        self._expires: dict[str, float] = {}  # insertion order = age

    async def is_known(self, r: AsyncRedisClient, token_hash: str) -> bool:
        """True when the token is bound (from memory, else one HGET). Raises RedisError when Redis is down."""
        expires = self._expires.get(token_hash)
        if expires is not None:
            if expires > self.clock():
                return True
            del self._expires[token_hash]
        if not await r.hexists(keys.WEBHOOK_TOKENS, token_hash):
            return False
        self.remember(token_hash)
        return True

    def remember(self, token_hash: str) -> None:
        if len(self._expires) >= self.max_size:
            del self._expires[next(iter(self._expires))]
        self._expires[token_hash] = self.clock() + self.ttl_s

    def forget(self, token_hash: str) -> None:
        """The claim found the token unbound (integration deleted, webhook re-created)."""
        self._expires.pop(token_hash, None)
