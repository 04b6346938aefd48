"""Short Redis locks with owner tokens (SET NX PX; release and extend only by the owner)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis

_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end"


class LockBusy(Exception):
    """Someone else holds the lock; try again shortly."""


@contextmanager
def hold(r: redis.Redis, key: str, ttl_s: float = 60.0, wait_s: float = 5.0) -> Iterator[None]:
    """Hold `key` for at most `ttl_s` (a crashed holder frees it); wait up to `wait_s` to get it."""
    token = secrets.token_hex(8)
    deadline = time.monotonic() + wait_s
    while not r.set(key, token, nx=True, px=int(ttl_s * 1000)):
        if time.monotonic() >= deadline:
            raise LockBusy(key)
        time.sleep(0.02)
    try:
        yield
    finally:
        r.eval(_RELEASE, 1, key, token)
