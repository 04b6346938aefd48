"""Settings-page sessions and one-time sign-in links (SPEC §2): access to an integration's page is a session
bound to that one integration, never a bare id.

Only SHA-256 digests of cookie values and link tokens are stored, so a copy of Redis grants no access. A
session expires after SESSION_IDLE_S without use and SESSION_MAX_S after it began. A sign-in link works
once (GETDEL) and expires; reading it (the sign-in page a GET shows) does not use it. The OAuth `state` of a
Jobber connect is bound to the session through a one-time nonce kept in it. Jobber consents awaiting the
admin's confirmation are in store/pending_jobber.py.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from store import keys
from store.crypto import Keys, token_hash
from store.redis import RedisClient

SESSION_IDLE_S = 2 * 3600
SESSION_MAX_S = 12 * 3600
LINK_TTL_S_DEFAULT = 60 * 60
LINK_TTL_S_MAX = 7 * 24 * 3600
# What stays of a session whose integration was uninstalled, until the session would have expired: this marker
# alone (no integration, no CSRF token), so the browser is told why it is signed out.
REVOKED_UNINSTALLED = "uninstalled"
# KEYS: a session. ARGV: the marker. Replaces a live session by the marker, keeping its expiry.
REVOKE_LUA = """
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'revoked', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
"""


@dataclass(frozen=True)
class Session:
    key: str  # the digest of the cookie value: what the store is keyed by
    integration_id: str
    csrf_token: str
    created_at: float


class SessionStore:
    def __init__(self, r: RedisClient, secret_key: Keys):
        self.r = r
        self.secret_key = secret_key

    # ---- sessions ----------------------------------------------------------------------------

    def create(self, integration_id: str) -> tuple[str, Session]:
        """A new session for one integration: (cookie value, session). The cookie value is returned once."""
        cookie = secrets.token_urlsafe(32)
        session = Session(token_hash(cookie), integration_id, secrets.token_urlsafe(24), time.time())
        key = keys.session(session.key)
        pipe = self.r.pipeline()
        pipe.hset(
            key,
            mapping={
                "integration": integration_id,
                "csrf": session.csrf_token,
                "created_at": repr(session.created_at),
            },
        )
        pipe.expire(key, SESSION_IDLE_S)
        pipe.execute()
        return cookie, session

    def get(self, cookie: str | None) -> Session | None:
        """The live session behind a cookie value (its idle timer restarts), else None."""
        if not cookie or len(cookie) > 256:
            return None
        digest = token_hash(cookie)
        h = self.r.hgetall(keys.session(digest))
        if not h or "integration" not in h:
            return None
        created = float(h.get("created_at") or 0)
        remaining = created + SESSION_MAX_S - time.time()
        if remaining <= 0:
            self.r.delete(keys.session(digest))
            return None
        self.r.expire(keys.session(digest), int(min(SESSION_IDLE_S, remaining)) + 1)
        return Session(digest, h["integration"], h.get("csrf", ""), created)

    def end(self, session: Session) -> None:
        self.r.delete(keys.session(session.key))

    def was_revoked(self, cookie: str | None) -> bool:
        """The cookie's session ended because its integration was uninstalled (`revoke_uninstalled`), so the
        page can say so instead of asking to sign in."""
        if not cookie or len(cookie) > 256:
            return False
        return self.r.hget(keys.session(token_hash(cookie)), "revoked") == REVOKED_UNINSTALLED

    # ---- OAuth state bound to the session ---------------------------------------------------------

    def new_oauth_nonce(self, session: Session) -> str:
        """A nonce for the next Jobber consent of this session (the newest replaces any earlier one)."""
        nonce = secrets.token_urlsafe(16)
        self.r.hset(keys.session(session.key), "oauth_nonce", token_hash(nonce))
        return nonce

    def take_oauth_nonce(self, session: Session, nonce: str) -> bool:
        """True once for the nonce this session was given; a second use, or another session's, is refused."""
        script = (
            "if redis.call('HGET', KEYS[1], 'oauth_nonce') == ARGV[1] then "
            "redis.call('HDEL', KEYS[1], 'oauth_nonce') return 1 else return 0 end"
        )
        return bool(self.r.eval(script, 1, keys.session(session.key), token_hash(nonce)))

    # ---- one-time sign-in links ----------------------------------------------------------------

    def issue_link(self, integration_id: str, ttl_s: int = LINK_TTL_S_DEFAULT) -> tuple[str, float]:
        """A sign-in token for one integration's page: (token, expires_at). Valid once, for `ttl_s`."""
        if not 60 <= ttl_s <= LINK_TTL_S_MAX:
            raise ValueError(f"a sign-in link lives between 1 minute and {LINK_TTL_S_MAX // 86400} days")
        token = secrets.token_urlsafe(32)
        self.r.set(keys.signin_link(token_hash(token)), integration_id, ex=ttl_s)
        return token, time.time() + ttl_s

    def peek_link(self, token: str | None) -> str | None:
        """The integration a sign-in token opens, without using it; None when unknown, expired or used."""
        if not token or len(token) > 256:
            return None
        return self.r.get(keys.signin_link(token_hash(token)))

    def redeem_link(self, token: str | None) -> str | None:
        """The integration a sign-in token opens, consuming it; None when unknown, expired or used."""
        if not token or len(token) > 256:
            return None
        return self.r.getdel(keys.signin_link(token_hash(token)))
