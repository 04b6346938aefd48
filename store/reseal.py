"""Resealing stored secrets with the current SECRET_KEY (`ajctl secrets reencrypt`), for the stores that own
them (store/integrations.py, store/pending_jobber.py).

A value is replaced only if it still holds what was read (a compare-and-set in one Lua script): a
token pair a worker refreshed meanwhile is already sealed with the current key and is never
overwritten with the older pair. A record deleted meanwhile is not written back. Rerunning is safe:
what the current key opens is left alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from store.crypto import DecryptError, Keys, reseal
from store.redis import RedisClient

# "resealed": now sealed with the current key; "current": it already was; "empty": nothing sealed there (gone,
# or never had secrets); "unreadable": neither SECRET_KEY nor SECRET_KEY_PREVIOUS opens it.
Outcome = Literal["resealed", "current", "empty", "unreadable"]
OUTCOMES: tuple[Outcome, ...] = ("resealed", "current", "empty", "unreadable")
ATTEMPTS = 5  # a concurrent write seals with the current key, so the next read finds nothing to do

# KEYS[1]: a hash. ARGV: (field, value read, new value) triples; all or nothing.
_HASH_LUA = """
for i = 1, #ARGV, 3 do
  if redis.call('HGET', KEYS[1], ARGV[i]) ~= ARGV[i + 1] then return 0 end
end
for i = 1, #ARGV, 3 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2])
end
return 1
"""

# KEYS[1]: a string. ARGV: the value read, the new value (its time to live kept).
_STRING_LUA = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1
"""


class Changing(RuntimeError):
    """The record kept changing under the reseal: run the command again."""


def reseal_hash(r: RedisClient, key: str, fields: Sequence[str], keys: Keys) -> Outcome:
    """Reseal the sealed `fields` of the hash at `key`."""
    for _ in range(ATTEMPTS):
        values = r.hmget(key, list(fields))
        present = [(f, v) for f, v in zip(fields, values, strict=True) if v]
        if not present:
            return "empty"
        triples: list[str] = []
        try:
            for field, value in present:
                new = reseal(keys, value)
                if new is not None:
                    triples += [field, value, new]
        except DecryptError:
            return "unreadable"
        if not triples:
            return "current"
        if r.eval(_HASH_LUA, 1, key, *triples):
            return "resealed"
    raise Changing(f"{key} kept changing while it was resealed: run the command again")


def reseal_string(r: RedisClient, key: str, keys: Keys) -> Outcome:
    """Reseal the sealed string at `key`."""
    for _ in range(ATTEMPTS):
        value = r.get(key)
        if not value:
            return "empty"
        try:
            new = reseal(keys, value)
        except DecryptError:
            return "unreadable"
        if new is None:
            return "current"
        if r.eval(_STRING_LUA, 1, key, value, new):
            return "resealed"
    raise Changing(f"{key} kept changing while it was resealed: run the command again")
