"""Jobber connections waiting for an admin (SPEC §2, F10): a finished Jobber consent whose tokens are not
attached to any integration yet.

Two kinds wait here: a consent started from an integration's settings page that needs the admin's
confirmation (another Jobber account, or one another integration holds), and a connect started in Jobber's
App Marketplace, which carries no `state` of ours and so names no integration at all. Either is attached only
when a signed-in admin says so (flows/connect.py).

The browser that finished the consent holds a random reference in a cookie; only its SHA-256 is stored, so a
copy of Redis points at no browser. The record (tokens included) is one Fernet ciphertext. It is held until
`hold_until`; after that no browser sees it, and beat's sweep disconnects the grant in Jobber (`due`), so an
unattached consent does not stay connected in the Jobber account. The key itself lives GRACE_S longer, for
the sweep to find it even after a pause of beat.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass, replace

from store import keys
from store.crypto import Keys, decrypt, encrypt, token_hash
from store.integrations import JobberAccount
from store.redis import RedisClient
from store.reseal import Outcome, reseal_string

GRACE_S = 24 * 3600  # how long an expired record stays for the sweep to disconnect it


@dataclass(frozen=True)
class PendingJobber:
    """A Jobber grant (token pair) and the account it belongs to, not attached to any integration yet."""

    access_token: str
    refresh_token: str
    account_id: str  # "" until the account is read (the pair is saved before the token is used)
    account_name: str
    expires_at: float | None = None  # the access token's expiry, when the token answer gave it
    # Started from this integration's settings; None: from Jobber's Marketplace
    integration_id: str | None = None
    hold_until: float = 0.0  # after this the admin can no longer attach it; the sweep disconnects it
    disconnect_attempts: int = 0  # the sweep's failed attempts to disconnect it

    @property
    def account(self) -> JobberAccount:
        return JobberAccount(self.account_id, self.account_name)

    @property
    def from_marketplace(self) -> bool:
        return self.integration_id is None

    def expired(self, now: float | None = None) -> bool:
        return self.hold_until <= (time.time() if now is None else now)


class PendingConnections:
    """Waiting Jobber grants, by the digest of the browser's reference (`hold` returns the reference once)."""

    def __init__(self, r: RedisClient, secret_key: Keys):
        self.r = r
        self.secret_key = secret_key

    def hold(self, pending: PendingJobber, reference: str | None = None) -> str:
        """Keep `pending` until its `hold_until`; returns the browser's reference (a new one unless given)."""
        reference = reference or secrets.token_urlsafe(32)
        self._put(token_hash(reference), pending)
        return reference

    def peek(self, reference: str | None) -> PendingJobber | None:
        """The grant behind a browser's reference, whether or not it has expired (callers decide)."""
        if not reference or len(reference) > 256:
            return None
        return self._open(self.r.get(keys.pending_jobber(token_hash(reference))))

    def peek_digest(self, digest: str) -> PendingJobber | None:
        """The grant stored under a digest (the purge looks for those of a deleted integration)."""
        return self._open(self.r.get(keys.pending_jobber(digest)))

    def take(self, reference: str | None) -> PendingJobber | None:
        """Remove and return the grant behind a reference: once, to whoever asks first (a browser or the
        sweep)."""
        if not reference or len(reference) > 256:
            return None
        return self.take_by_digest(token_hash(reference))

    def take_by_digest(self, digest: str) -> PendingJobber | None:
        pipe = self.r.pipeline()  # MULTI: the record and its due entry go together
        pipe.getdel(keys.pending_jobber(digest))
        pipe.zrem(keys.PENDING_JOBBER_DUE, digest)
        return self._open(pipe.execute()[0])

    def requeue(self, pending: PendingJobber, due_at: float) -> str:
        """Hand a grant to the sweep alone: stored under a reference no browser has, due at `due_at`. Returns
        its digest (`take_by_digest` takes it back)."""
        digest = token_hash(secrets.token_urlsafe(32))
        self._put(digest, replace(pending, hold_until=due_at))
        return digest

    def due(self, now: float | None = None, limit: int = 100) -> list[str]:
        """Digests of the grants whose hold has run out (oldest first), for the sweep to `take_by_digest`."""
        now = time.time() if now is None else now
        return self.r.zrangebyscore(keys.PENDING_JOBBER_DUE, "-inf", now, start=0, num=limit)

    def digests(self) -> list[str]:
        """Every waiting grant's digest (expired ones too, until the sweep takes them)."""
        return self.r.zrange(keys.PENDING_JOBBER_DUE, 0, -1)

    def reseal(self, digest: str) -> Outcome:
        """Seal a waiting grant with the current SECRET_KEY (store/reseal.py); its time to live is kept."""
        return reseal_string(self.r, keys.pending_jobber(digest), self.secret_key)

    def _put(self, digest: str, pending: PendingJobber) -> None:
        sealed = encrypt(self.secret_key, json.dumps(asdict(pending)))
        ttl = max(1, int(pending.hold_until - time.time())) + GRACE_S
        pipe = self.r.pipeline()
        pipe.set(keys.pending_jobber(digest), sealed, ex=ttl)
        pipe.zadd(keys.PENDING_JOBBER_DUE, {digest: pending.hold_until})
        pipe.execute()

    def _open(self, sealed: object) -> PendingJobber | None:
        if not isinstance(sealed, str) or not sealed:
            return None
        return PendingJobber(**json.loads(decrypt(self.secret_key, sealed)))
