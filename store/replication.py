"""Replica acknowledgement for the ingest: a webhook is answered 200 only once REDIS_WAIT_REPLICAS replicas
hold it, so a master that dies right after the answer loses nothing that was acknowledged.

Redis replicates asynchronously; `WAIT n ms` blocks until n replicas have acknowledged every write made *on
the connection that issues it*. The claim runs on a pooled connection, and redis-py transparently reconnects
(to a new master, after a failover) when a command fails, so WAIT on "the same connection" is not enough: a
reconnected connection has made no write, and its WAIT returns at once. Instead the confirmation is one
pipeline, retried as a unit, that (1) finds the event on the server it runs on, (2) writes (a mark key) so
that WAIT covers this server's whole replication stream so far -- the event included, since the claim
returned before it -- and (3) WAITs. A duplicate delivery is confirmed the same way, so the retry of a
webhook whose original was never replicated is not acknowledged either until a replica holds it.
"""

from __future__ import annotations

from redis.exceptions import RedisError

from store import keys
from store.ledger import AsyncLedger, Claim, Inbound
from store.redis import AsyncRedisClient, RedisClient

# Claims that stored (or found) an event: only these have something a replica must hold.
STORED = frozenset({"enqueued", "duplicate", "skipped"})


class NotReplicated(RedisError):
    """The event is not confirmed on enough replicas (or not on the master the confirmation reached)."""


class ReplicatedLedger:
    """AsyncLedger's `claim`, confirmed on `replicas` replicas within `timeout_ms` (else NotReplicated)."""

    def __init__(self, ledger: AsyncLedger, r: AsyncRedisClient, replicas: int, timeout_ms: int):
        self._ledger = ledger
        self._r = r
        self._replicas = replicas
        self._timeout_ms = timeout_ms

    async def claim(self, inbound: Inbound) -> Claim:
        claim = await self._ledger.claim(inbound)
        if claim.status in STORED:
            await self.confirm(keys.event(inbound.event_id), claim.integration_id)
        return claim

    async def confirm(self, event_key: str, integration_id: str | None = None) -> None:
        """A deleted integration's late delivery is skipped without being stored (store/ledger.py): then its
        tombstone is what the confirmation finds."""
        pipe = self._r.pipeline(transaction=False)
        pipe.exists(event_key)
        pipe.hget(keys.integration(integration_id or ""), "status")
        pipe.set(keys.REPLICA_WAIT_MARK, "1", ex=keys.REPLICA_WAIT_MARK_TTL_S)
        pipe.execute_command("WAIT", self._replicas, self._timeout_ms)
        found, status, _, acked = await pipe.execute()
        if not found and status != "deleted":
            raise NotReplicated("event not on the master the confirmation reached (failover)")
        if int(acked) < self._replicas:
            raise NotReplicated(f"{acked} of {self._replicas} replicas confirmed in {self._timeout_ms} ms")


def confirm_field(
    r: RedisClient, key: str, field: str, expected: str, replicas: int, timeout_ms: int, attempts: int = 3
) -> None:
    """The synchronous twin of `ReplicatedLedger.confirm`, for a worker's write that must survive a failover
    (a rotated Jobber token pair): `key`'s `field` holds `expected` on the server this pipeline reaches, and
    `replicas` replicas hold everything written there so far. Tried `attempts` times, then NotReplicated."""
    problem = ""
    for _ in range(attempts):
        pipe = r.pipeline(transaction=False)
        pipe.hget(key, field)
        pipe.set(keys.REPLICA_WAIT_MARK, "1", ex=keys.REPLICA_WAIT_MARK_TTL_S)
        pipe.wait(replicas, timeout_ms)
        found, _, acked = pipe.execute()
        if found != expected:
            raise NotReplicated(f"{key} {field} is not on the master the confirmation reached (failover)")
        if int(acked) >= replicas:
            return
        problem = f"{acked} of {replicas} replicas confirmed in {timeout_ms} ms"
    raise NotReplicated(problem)
