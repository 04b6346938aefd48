"""Short Redis locks that stay held while their holder is alive: redis-py's `Lock`, renewed in the background.

A lock's TTL is short (LOCK_TTL_S), so a worker killed while holding one frees it within seconds and its
redelivered work is not stuck behind a dead holder. While the holder runs, a renewer thread (one per
process) resets every held lock's TTL every RENEW_EVERY_S, so a slow vendor write never outlives its lock.
If a renewal finds the lock gone (the process stalled past the TTL, or Redis lost it in a failover), the lock
is marked lost and `Held.check()` raises before the holder's next write.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from redis.exceptions import LockError, LockNotOwnedError, RedisError
from redis.lock import Lock

from store.redis import RedisClient

log = logging.getLogger(__name__)

LOCK_TTL_S = 15.0
RENEW_EVERY_S = LOCK_TTL_S / 3


class LockBusy(Exception):
    """Someone else holds the lock; try again shortly."""


class LockLost(LockBusy):
    """The lock expired under its holder (the holder stalled or Redis failed over): stop and try again."""


class Held:
    def __init__(self, lock: Lock):
        self.lock = lock
        self.lost = False

    def check(self) -> None:
        """Raise LockLost when the lock is no longer ours: call before a write that must be exclusive."""
        if self.lost:
            raise LockLost(str(self.lock.name))


_held: set[Held] = set()
_held_guard = threading.Lock()
_renewer: threading.Thread | None = None


def _renew_forever() -> None:
    stop = threading.Event()
    while not stop.wait(RENEW_EVERY_S):
        with _held_guard:
            held = list(_held)
        for item in held:
            try:
                item.lock.reacquire()
            except LockNotOwnedError:
                item.lost = True
                log.error("locks.lost key=%s: expired under its holder", item.lock.name)
            except (LockError, RedisError) as exc:
                log.warning("locks.renew_failed key=%s error=%s", item.lock.name, type(exc).__name__)


def _ensure_renewer() -> None:
    global _renewer
    with _held_guard:
        if _renewer is None or not _renewer.is_alive():
            _renewer = threading.Thread(target=_renew_forever, name="aj-lock-renewer", daemon=True)
            _renewer.start()


@contextmanager
def hold(r: RedisClient, key: str, ttl_s: float = LOCK_TTL_S, wait_s: float = 5.0) -> Iterator[Held]:
    """Hold `key` while the block runs (renewed); wait up to `wait_s` for it, else raise LockBusy."""
    lock = r.lock(key, timeout=ttl_s, sleep=0.02, blocking=True, blocking_timeout=wait_s, thread_local=False)
    if not lock.acquire():
        raise LockBusy(key)
    held = Held(lock)
    _ensure_renewer()
    with _held_guard:
        _held.add(held)
    try:
        yield held
    finally:
        with _held_guard:
            _held.discard(held)
        try:
            lock.release()
        except LockNotOwnedError:
            log.warning("locks.released_late key=%s: it had expired", key)
