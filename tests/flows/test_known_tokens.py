"""ingest/tokens.py: the in-process memory of bound webhook tokens stays small and goes stale on time."""

from __future__ import annotations

import asyncio

import pytest

from ingest.tokens import KnownTokens
from store import keys

pytestmark = pytest.mark.flow


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def ask(known: KnownTokens, token_hash: str) -> bool:
    from store.redis import async_client

    async def run() -> bool:
        client = async_client()
        try:
            return await known.is_known(client, token_hash)
        finally:
            await client.aclose()

    return asyncio.run(run())


def test_a_bound_token_is_remembered_until_its_ttl_then_asked_again(r):
    clock = Clock()
    known = KnownTokens(ttl_s=30, clock=clock)
    r.hset(keys.WEBHOOK_TOKENS, "h1", "int_1")
    assert ask(known, "h1")

    r.hdel(keys.WEBHOOK_TOKENS, "h1")
    clock.now += 29
    assert ask(known, "h1")  # remembered: no round trip (the claim still checks)
    clock.now += 2
    assert not ask(known, "h1")  # stale: asked again, and it is gone


def test_unknown_tokens_are_never_remembered_and_the_memory_is_bounded(r):
    known = KnownTokens(max_size=3, clock=Clock())
    for i in range(5):
        r.hset(keys.WEBHOOK_TOKENS, f"h{i}", "int_1")
        assert ask(known, f"h{i}")
    for i in range(100):
        assert not ask(known, f"made-up-{i}")

    assert list(known._expires) == ["h2", "h3", "h4"]  # the oldest went first


def test_forget_drops_a_token_the_claim_found_unbound(r):
    known = KnownTokens(clock=Clock())
    r.hset(keys.WEBHOOK_TOKENS, "h1", "int_1")
    assert ask(known, "h1")
    r.hdel(keys.WEBHOOK_TOKENS, "h1")

    known.forget("h1")

    assert not ask(known, "h1")
