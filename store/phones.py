"""Phone → Jobber client cache, per Jobber account (SPEC F5): a repeat caller costs no search.

Entries are dropped by `CLIENT_*` webhooks for the client (a reverse index finds them) and expire after a
day in any case, so a missed webhook cannot pin a stale match for long.
"""

from __future__ import annotations

import json

from domain.matching import ClientRef
from store import keys
from store.redis import RedisClient

TTL_S = 86400


class PhoneCache:
    def __init__(self, r: RedisClient):
        self.r = r

    def get(self, account_id: str, e164: str) -> ClientRef | None:
        raw = self.r.get(keys.phone(account_id, e164))
        return self.parse(raw)

    @staticmethod
    def parse(raw: str | None) -> ClientRef | None:
        if not raw:
            return None
        doc = json.loads(raw)
        return ClientRef(**{k: v for k, v in doc.items() if k in ClientRef.__dataclass_fields__})

    def put(self, account_id: str, e164: str, client: ClientRef) -> None:
        pipe = self.r.pipeline()
        pipe.set(keys.phone(account_id, e164), json.dumps(client.__dict__), ex=TTL_S)
        pipe.sadd(keys.phone_reverse(account_id, client.id), e164)
        pipe.expire(keys.phone_reverse(account_id, client.id), TTL_S)
        pipe.execute()

    def forget_number(self, account_id: str, e164: str, unless: str | None = None) -> int:
        """Drop a number's entry, unless it is the client `unless`."""
        if unless is not None:
            cached = self.get(account_id, e164)
            if cached is None or cached.id == unless:
                return 0
        return int(self.r.delete(keys.phone(account_id, e164)))

    def forget_client(
        self, account_id: str, client_id: str, keep: set[str] | frozenset[str] = frozenset()
    ) -> int:
        """Drop the client's cached numbers (its phones changed, or it was deleted), but those in `keep`."""
        reverse = keys.phone_reverse(account_id, client_id)
        numbers = self.r.smembers(reverse)
        gone = numbers - set(keep)
        if not gone:
            return 0
        pipe = self.r.pipeline()
        for e164 in gone:
            pipe.delete(keys.phone(account_id, e164))
            pipe.srem(reverse, e164)
        pipe.execute()
        return len(gone)
