"""The running sandbox: options, state, limiters, token issuing and webhook dispatch, shared by the HTTP
handlers (reachable as `request.app.state.jobber`)."""

from __future__ import annotations

import secrets
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from sandbox.common import Faults

from . import ids, tokens
from .context import AppInfo
from .cost import CostBuckets, RequestLimiter
from .phone_search import PhoneSearch
from .state import Account, Grant, Store
from .webhooks import WebhookDispatcher

# API versions the sandbox serves. Latest in the official changelog as of Oct 2025: 2025-04-16
# (reference §1.2).
# The support status of older versions is the sandbox's choice (UNCONFIRMED).
SUPPORTED_VERSIONS = ("2024-04-17", "2024-11-12", "2025-01-20", "2025-04-16")
UNSUPPORTED_BUT_ACCESSIBLE = ("2023-08-18", "2023-11-15", "2024-01-05")


@dataclass
class Options:
    """Everything `create_app(**options)` accepts."""

    client_id: str = "sandbox-client-id"
    client_secret: str = "sandbox-client-secret"
    signing_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    access_token_ttl_s: float = 3600.0  # 60 minutes, like Jobber
    # Jobber documents JWT access tokens without `expires_in` (reference §2.3); both are UNCONFIRMED
    # to hold for every app. With these on, token responses carry `expires_in` and access tokens are
    # opaque (no `exp`).
    token_expires_in: bool = False
    opaque_access_tokens: bool = False
    # How `clientPhones(searchTerm:)` / `clients(searchFields: [PHONES])` match (UNCONFIRMED, jobber-api.md
    # §5.3): the reading, whether `normalizedPhoneNumber` is filled, and how long new phones stay out
    # of searches.
    phone_search: PhoneSearch = field(default_factory=PhoneSearch)
    # The order of `notes` without `sort` (UNCONFIRMED, jobber-api.md §6.3): "newest" or "oldest" first. Also
    # `POST /_sandbox/notes_order`; a reset restores this.
    notes_default_order: str = "newest"
    bucket_max: int = 10_000
    restore_rate: int = 500
    request_limit: int = 2_500  # per account per `request_window_s`
    request_window_s: float = 300.0
    supported_versions: tuple[str, ...] = SUPPORTED_VERSIONS
    unsupported_versions: tuple[str, ...] = UNSUPPORTED_BUT_ACCESSIBLE
    require_version_header: bool = True
    web_base: str = "https://secure.getjobber.com"
    app_name: str = "Aircall"
    app_id: str = "5d3c1f0e-7a2b-4c8d-9e6f-a1b2c3d4e5f6"
    webhook_url: str | None = None
    webhook_topics: list[str] | None = None
    # The app's URLs as registered in the Developer Center (reference §2.1); also `POST /_sandbox/app`.
    oauth_callback_url: str | None = None
    manage_app_url: str | None = None
    seed_clients: int = 0  # > 0: create a default account with that many seeded clients at start
    seed: int = 42
    faults: Faults | None = None


@dataclass(frozen=True)
class LostAnswer:
    status: int = 502  # the answer sent instead of the result
    hang_s: float = 0.0  # > 0: the real result, but only after this long (the caller timed out)


@dataclass
class AppUrls:
    """The app's registered URLs (kept across resets, like the webhook target). With a callback registered,
    authorization refuses any other `redirect_uri`, as Jobber does (reference §2.3)."""

    oauth_callback_url: str | None = None
    manage_app_url: str | None = None


@dataclass
class TokenOptions:
    """Token knobs changeable at run time (`POST /_sandbox/token_options`); reset restores the Options."""

    access_token_ttl_s: float
    expires_in: bool
    opaque: bool
    # Whether a new consent for an account ends the account's earlier connections (jobber-api.md §2.5: "a
    # reconnect issues a new token pair, and the old refresh token should be treated as dead"; two admins
    # connecting the same account is UNCONFIRMED). Off: the earlier grants stay live next to the new one.
    consent_revokes_previous: bool = True

    @classmethod
    def of(cls, options: Options) -> TokenOptions:
        return cls(options.access_token_ttl_s, options.token_expires_in, options.opaque_access_tokens)


class Sandbox:
    def __init__(self, options: Options):
        self.options = options
        self.store = Store()
        self.faults = options.faults or Faults()
        self.buckets = CostBuckets(options.bucket_max, options.restore_rate)
        self.limiter = RequestLimiter(options.request_limit, options.request_window_s)
        self.app = AppInfo(
            id=ids.encode("Application", 1),
            app_id=options.app_id,
            name=options.app_name,
            author=options.app_name,
        )
        self.webhooks = WebhookDispatcher(self.store, options.client_secret, options.app_id)
        # Authenticated GraphQL requests per account: the "vendor economy" figure of the benchmarks.
        self.request_counts: Counter[str] = Counter()
        # Requested query cost per operation name: [operations, total, largest] (`GET /_sandbox/costs`).
        self.costs: dict[str, list[int]] = {}
        # `POST /api/oauth/token` requests by grant_type (`GET /_sandbox/token_requests`): tests check that a
        # disconnected app is not refreshed.
        self.token_requests: Counter[str] = Counter()
        self.configure_webhooks(options.webhook_url, options.webhook_topics)
        self.app_urls = AppUrls(options.oauth_callback_url, options.manage_app_url)
        self.token_options = TokenOptions.of(options)
        self._opaque: dict[str, dict[str, Any]] = {}  # opaque access token -> its claims
        self.set_phone_search(replace(options.phone_search))
        self.notes_default_order = options.notes_default_order
        # Root field -> HTTP status: the next operation with that field runs (and commits) but its answer is
        # replaced by that status, as when a connection drops after Jobber did the work
        # (`/_sandbox/lose_answer`). Or, with a hang, answered only after that many seconds
        # (the caller's timeout fired first).
        self.lose_answer: dict[str, LostAnswer] = {}

    def configure_webhooks(self, url: str | None, topics: list[str] | None = None) -> None:
        self.store.webhooks.url = url
        self.store.webhooks.topics = topics

    def reset(self) -> None:
        self.webhooks.drain()
        url, topics = self.store.webhooks.url, self.store.webhooks.topics
        self.store.reset()
        self.configure_webhooks(url, topics)
        self.buckets.reset()
        self.limiter.reset()
        self.faults.reset()
        self.request_counts.clear()
        self.costs.clear()
        self.token_requests.clear()
        self.token_options = TokenOptions.of(self.options)
        self._opaque.clear()
        self.set_phone_search(replace(self.options.phone_search))
        self.notes_default_order = self.options.notes_default_order
        self.lose_answer.clear()

    def set_phone_search(self, search: PhoneSearch) -> None:
        self.phone_search = search
        self.store.search_lag_s = search.lag_s

    def record_cost(self, operation: str, requested: int) -> None:
        with self.store.lock:
            seen = self.costs.setdefault(operation, [0, 0, 0])
            seen[0], seen[1], seen[2] = seen[0] + 1, seen[1] + requested, max(seen[2], requested)

    def count_request(self, account_id: str) -> None:
        with self.store.lock:
            self.request_counts[account_id] += 1

    def issue_tokens(
        self,
        account: Account,
        *,
        user_id: str | None = None,
        revoke_previous: bool = False,
        access_token_ttl_s: float | None = None,
    ) -> dict[str, Any]:
        """A new connection (grant) of the app to `account`, with its first token pair."""
        user_id = user_id or account.users[0].id
        refresh = tokens.new_refresh_token()
        grant = self.store.create_grant(account, user_id, refresh, revoke_previous=revoke_previous)
        return {
            **self.token_response(grant, refresh, access_token_ttl_s),
            "account_id": account.id,
            "user_id": user_id,
        }

    def token_response(self, grant: Grant, refresh_token: str, ttl_s: float | None = None) -> dict[str, Any]:
        """The body of a token answer: the pair, and `expires_in` when that knob is on."""
        ttl = self.token_options.access_token_ttl_s if ttl_s is None else ttl_s
        body: dict[str, Any] = {"access_token": self.access_token(grant, ttl), "refresh_token": refresh_token}
        if self.token_options.expires_in:
            body["expires_in"] = int(ttl)
        return body

    def access_token(self, grant: Grant, ttl_s: float) -> str:
        token = tokens.make_access_token(
            self.options.signing_key,
            account_id=grant.account_id,
            user_id=grant.user_id,
            grant_id=grant.id,
            app_id=self.options.app_id,
            ttl_s=ttl_s,
        )
        if not self.token_options.opaque:
            return token
        opaque = tokens.new_refresh_token()
        self._opaque[opaque] = tokens.verify(token, self.options.signing_key, now=0.0)
        return opaque

    def verify_access_token(self, token: str) -> dict[str, Any]:
        """The claims of a valid access token (JWT or opaque); raises tokens.TokenError."""
        claims = self._opaque.get(token)
        if claims is None:
            return tokens.verify(token, self.options.signing_key)
        if float(claims["exp"]) <= time.time():
            raise tokens.TokenError("expired")
        return claims

    def answer_lost(self, root_fields: set[str]) -> LostAnswer | None:
        """How this operation's answer is lost, once, if a lost answer was asked for one of its fields."""
        with self.store.lock:
            for name in root_fields & set(self.lose_answer):
                return self.lose_answer.pop(name)
        return None

    def emit(self, account_id: str, events: list[tuple[str, str]]) -> None:
        self.webhooks.dispatch(account_id, events)


def new_app_id() -> str:
    return str(uuid.uuid4())
