"""The clients we created for a phone number, per Jobber account (SPEC F6): never a second "Aircall new
client" for one number.

Two things can hide a client we created from the next event of the same caller. Jobber's search indexes
a new client after a delay (jobber-api.md §5.3, "Search lags creation"): a `done` record keeps the
client the number's match until the search shows it (flows.client_search `known`). And `clientCreate`
can commit while its answer is lost (a timeout, a 502 after the commit): the record is written as
`creating`, with the attempt's start, *before* the create, so the retry looks among the clients created
since then before creating again.

A `done` record is dropped when its client is deleted or loses the number (flows.jobber_webhooks); it expires
after a day in any case (the search shows a new client within minutes). A `creating` record lives as long as
a dead letter can be replayed, so a replay a month later still looks before it creates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from domain.matching import ClientRef
from store import keys
from store.phones import PhoneCache
from store.redis import RedisClient

DONE_TTL_S = 86400
CREATING_TTL_S = 31 * 86400  # DEAD_LETTER_RETENTION_DAYS (30) and a day of retries


@dataclass(frozen=True)
class CreatedClient:
    state: Literal["creating", "done"]
    started_at: str  # ISO 8601: when the create was first attempted
    client: ClientRef | None = None  # when done


class CreatedClients:
    def __init__(self, r: RedisClient):
        self.r = r

    def get(self, account_id: str, e164: str) -> CreatedClient | None:
        return self.parse(self.r.get(keys.created_client(account_id, e164)))

    def with_cached_match(self, account_id: str, e164: str) -> tuple[ClientRef | None, CreatedClient | None]:
        """The number's cached match (store/phones.py) and its created-client record, in one round trip."""
        pipe = self.r.pipeline(transaction=False)
        pipe.get(keys.phone(account_id, e164))
        pipe.get(keys.created_client(account_id, e164))
        cached, created = pipe.execute()
        return PhoneCache.parse(cached), self.parse(created)

    @staticmethod
    def parse(raw: str | None) -> CreatedClient | None:
        if not raw:
            return None
        doc = json.loads(raw)
        client = doc.get("client")
        return CreatedClient(
            state="done" if doc.get("state") == "done" else "creating",
            started_at=str(doc.get("started_at") or ""),
            client=ClientRef(**client) if client else None,
        )

    def begin(self, account_id: str, e164: str) -> tuple[CreatedClient, bool]:
        """Record a create about to be attempted: (the record, True) -- or (an earlier attempt's record,
        False), which is kept: what that attempt may have created lies after its start."""
        record = CreatedClient("creating", datetime.now(UTC).isoformat(timespec="seconds"))
        doc = json.dumps({"state": record.state, "started_at": record.started_at})
        if self.r.set(keys.created_client(account_id, e164), doc, ex=CREATING_TTL_S, nx=True):
            return record, True
        return self.get(account_id, e164) or record, False

    def done(self, account_id: str, e164: str, started_at: str, client: ClientRef) -> None:
        doc = json.dumps({"state": "done", "started_at": started_at, "client": client.__dict__})
        pipe = self.r.pipeline()
        pipe.set(keys.created_client(account_id, e164), doc, ex=DONE_TTL_S)
        pipe.sadd(keys.created_client_reverse(account_id, client.id), e164)
        pipe.expire(keys.created_client_reverse(account_id, client.id), DONE_TTL_S)
        pipe.execute()

    def forget_client(
        self, account_id: str, client_id: str, keep: set[str] | frozenset[str] = frozenset()
    ) -> None:
        """Drop the records of a client we created, but those of the numbers in `keep` (it still has them)."""
        reverse = keys.created_client_reverse(account_id, client_id)
        numbers = self.r.smembers(reverse)
        for e164 in numbers - set(keep):
            record = self.get(account_id, e164)
            if record is not None and record.client is not None and record.client.id == client_id:
                self.r.delete(keys.created_client(account_id, e164))  # not a later client's record
            self.r.srem(reverse, e164)
