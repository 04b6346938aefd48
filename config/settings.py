"""Process settings from the environment (SPEC §2): one `Settings` object, names fixed by the contract."""

from __future__ import annotations

import sys
from functools import lru_cache
from urllib.parse import urlparse

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.redis_url import sentinel_target
from config.secret_key import HOW_TO_MAKE_ONE, SecretKeys, weakness

# Used only in sandbox mode (SANDBOX_MODE=true), when SECRET_KEY is unset.
_SANDBOX_SECRET = "aj-sandbox-only-secret-never-use-in-production"  # noqa: S105


class ConfigError(RuntimeError):
    """The environment cannot run the service as configured."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=True)

    REDIS_URL: str = "redis://localhost:6379/0"
    PUBLIC_URL: str = "http://localhost:8000"
    SECRET_KEY: SecretStr | None = None
    # Not part of SPEC's contract table: the key being rotated out (README "Rotating SECRET_KEY"). What it
    # sealed still opens; nothing new is sealed with it.
    SECRET_KEY_PREVIOUS: SecretStr | None = None
    PORT: int = 8000
    # Not part of SPEC's contract table: development against the sandbox vendors (`make run`, the
    # tests, `make bench`, the demo). Only then may PUBLIC_URL be plain http and SECRET_KEY fall
    # back to a fixed sandbox value.
    SANDBOX_MODE: bool = False

    AIRCALL_API_URL: str = "https://api.aircall.io"
    AIRCALL_RATE_LIMIT_PER_MIN: int = Field(60, ge=1)
    AIRCALL_CLIENT_ID: str | None = None
    AIRCALL_CLIENT_SECRET: SecretStr | None = None
    AIRCALL_OAUTH_URL: str = "https://dashboard.aircall.io/oauth"

    JOBBER_API_URL: str = "https://api.getjobber.com/api/graphql"
    JOBBER_OAUTH_URL: str = "https://api.getjobber.com/api/oauth"
    JOBBER_CLIENT_ID: str | None = None
    JOBBER_CLIENT_SECRET: SecretStr | None = None
    JOBBER_API_VERSION: str = "2025-04-16"

    RETRY_MAX_ATTEMPTS: int = Field(12, ge=1)
    RETRY_BACKOFF_MAX_S: int = Field(600, ge=1)

    # Operator surfaces (README): without FLOWER_BASIC_AUTH Flower listens on loopback only; without
    # METRICS_TOKEN /metrics is closed.
    FLOWER_BASIC_AUTH: SecretStr | None = None  # "user:password" (several: comma-separated)
    METRICS_TOKEN: SecretStr | None = None  # bearer token GET /metrics requires
    # OpenTelemetry traces exported there (OTLP over HTTP) when set; off otherwise (config/tracing.py). The
    # SDK's own OTEL_* variables (service name, sampler, headers) are read from the environment by the SDK.
    OTEL_EXPORTER_OTLP_ENDPOINT: str | None = None
    # uvicorn's own variable: the proxies whose X-Forwarded-For/-Proto are believed ("*" behind a load
    # balancer). The ingest applies those headers itself, to its pages only (ingest/app.py `Ingest`).
    FORWARDED_ALLOW_IPS: str = "127.0.0.1,::1"

    # Not part of the fixed contract: tuning knobs with safe defaults.
    # The largest webhook body accepted (413 above it). Aircall's largest real bodies are a few KB (a
    # call.ended with its comments, tags, teams, transfers); 256 KiB leaves ~100x room (README, "One tenant
    # never slows another"). It also bounds the memory of a request in flight (times INGEST_MAX_CONCURRENCY).
    MAX_WEBHOOK_BYTES: int = Field(256 * 1024, ge=1024)
    # Per Aircall webhook token (so per integration): at most WEBHOOK_RATE_LIMIT webhooks in each fixed window
    # of WEBHOOK_RATE_WINDOW_S seconds, 429 beyond (Aircall retries). 0 switches the limit off. 300/s on
    # average: ~5 times what a 1,000-agent company sends at its busiest (README), ~2 % of one ingest process.
    WEBHOOK_RATE_LIMIT: int = Field(3000, ge=0)
    WEBHOOK_RATE_WINDOW_S: int = Field(10, ge=1)
    # Bytes of one integration's events received and not yet settled (their raw bodies and task messages)
    # above which its Aircall webhooks are answered 429 until some settle: one tenant cannot fill Redis
    # (noeviction) for everyone. 0 switches the cap off. Keep it well under the Redis memory headroom.
    TENANT_PENDING_MAX_BYTES: int = Field(64 * 1024 * 1024, ge=0)
    # The claims the ingest sends to Redis in one call of the claim script carry at most this many bytes (one
    # claim alone may exceed it): a batch of large bodies never holds Redis for long.
    CLAIM_BATCH_MAX_BYTES: int = Field(1024 * 1024, ge=1)
    # How long the ledger remembers an event (its duplicate check and compact record) and a call its event
    # snapshots. Fractions of a day are allowed (the memory soak compresses time with them).
    EVENT_TTL_DAYS: float = Field(30, gt=0)
    # How long a dead letter (with its own copy of the raw event) waits for `ajctl events replay`.
    DEAD_LETTER_RETENTION_DAYS: float = Field(30, gt=0)
    # How long a deleted integration's tombstone (which acknowledges Aircall's late deliveries) outlives its
    # purge (README "Uninstall").
    TOMBSTONE_DAYS: float = Field(30, gt=0)
    HTTP_TIMEOUT_S: float = 10.0
    # Override of the derived broker visibility timeout (config/celery.py); tests use a short one.
    BROKER_VISIBILITY_TIMEOUT_S: int | None = None
    # How long after `call.created` an insight card is still worth posting (the phone is still ringing).
    CARD_WINDOW_S: float = 60.0
    # Messages kept ready on each shared Celery queue; the rest wait in per-tenant lanes (store/queues.py).
    # Enough to cover simultaneous completions across the fleet; more only delays fairness.
    FAIR_QUEUE_DEPTH: int = Field(64, ge=1)
    # The same for the insight-card queue, kept short: a card waits behind at most this many others plus one
    # round of the tenants with ringing calls (the cards worker runs 8 threads).
    CARDS_QUEUE_DEPTH: int = Field(8, ge=1)
    # Total time one piece of work may spend waiting for rate limits (it spends no attempts
    # doing so) before it is dead-lettered with the reason, so a vendor that throttles forever
    # cannot keep work pending forever.
    RATE_LIMIT_BUDGET_S: float = Field(6 * 3600, gt=0)

    # Redis high availability (README "High availability"). REDIS_URL may be Celery's Sentinel form
    # `sentinel://h1:26379;sentinel://h2:26379/0`; this names the master the sentinels watch.
    REDIS_SENTINEL_MASTER: str = "mymaster"
    # How long a worker's Redis command waits for the sentinels to promote a replica before it fails; cover
    # the sentinels' down-after-milliseconds plus an election (the ingest never waits: it answers 503).
    REDIS_FAILOVER_WAIT_S: float = Field(15.0, ge=0)
    # The ingest answers 200 only once this many replicas hold the event (Redis WAIT); 0 = do not wait.
    REDIS_WAIT_REPLICAS: int = Field(0, ge=0)
    REDIS_WAIT_TIMEOUT_MS: int = Field(500, ge=1)
    # Every Redis client (store, ingest, broker, sentinels): a master that vanishes without closing TCP costs
    # at most these per attempt, never a hung request or worker.
    REDIS_SOCKET_TIMEOUT_S: float = Field(5.0, gt=0)
    REDIS_CONNECT_TIMEOUT_S: float = Field(2.0, gt=0)

    @field_validator(
        "PUBLIC_URL", "AIRCALL_API_URL", "JOBBER_API_URL", "JOBBER_OAUTH_URL", "AIRCALL_OAUTH_URL"
    )
    @classmethod
    def _strip_slash(cls, v: str) -> str:
        # A trailing slash or newline in an env var is a classic redirect_uri mismatch (jobber-api.md §8.2).
        return v.strip().rstrip("/")

    @field_validator("REDIS_URL")
    @classmethod
    def _redis_url_form(cls, v: str) -> str:
        sentinel_target(v)  # a malformed Sentinel URL fails at start-up, not at the first webhook
        return v.strip()

    @model_validator(mode="after")
    def _wait_fits_read_timeout(self) -> Settings:
        # WAIT blocks its connection for up to the timeout: a shorter read timeout would fail every slow ack.
        if self.REDIS_WAIT_REPLICAS and self.REDIS_WAIT_TIMEOUT_MS >= self.REDIS_SOCKET_TIMEOUT_S * 1000:
            raise ValueError("REDIS_WAIT_TIMEOUT_MS must be shorter than REDIS_SOCKET_TIMEOUT_S")
        return self

    @property
    def event_ttl_s(self) -> int:
        return max(1, round(self.EVENT_TTL_DAYS * 86400))

    @property
    def dead_letter_retention_s(self) -> int:
        return max(1, round(self.DEAD_LETTER_RETENTION_DAYS * 86400))

    @property
    def tombstone_s(self) -> int:
        return max(1, round(self.TOMBSTONE_DAYS * 86400))

    @property
    def is_sandbox(self) -> bool:
        """Sandbox mode, set explicitly (SANDBOX_MODE): the embedded default, tests and benchmarks."""
        return self.SANDBOX_MODE

    def problems(self) -> list[str]:
        """What stops this configuration from running outside sandbox mode, each naming its variable and the
        fix; empty in sandbox mode."""
        if self.SANDBOX_MODE:
            return []
        found = []
        if urlparse(self.PUBLIC_URL).scheme != "https":
            found.append(
                f"PUBLIC_URL must be an https:// URL ({self.PUBLIC_URL!r} is not): Aircall refuses http "
                "webhook URLs. Set PUBLIC_URL to the https address where Aircall and Jobber reach the ingest"
            )
        secret = self._secret()
        if not secret:
            found.append(
                "SECRET_KEY is not set: it encrypts the stored tokens. Set SECRET_KEY to a long random value "
                f"(e.g. `{HOW_TO_MAKE_ONE}`) and keep it"
            )
        elif secret == _SANDBOX_SECRET:
            found.append(f"SECRET_KEY is the sandbox's published key. Make one with `{HOW_TO_MAKE_ONE}`")
        elif weak := weakness(secret):
            found.append(
                f"{weak}. Make one with `{HOW_TO_MAKE_ONE}`; to replace a key already in use, set the old "
                'one as SECRET_KEY_PREVIOUS and run `ajctl secrets reencrypt` (README, "Rotating SECRET_KEY")'
            )
        return found

    def require_runnable(self) -> None:
        """Raise ConfigError when a role must refuse to start with this configuration."""
        found = self.problems()
        if found:
            raise ConfigError(
                "; ".join(found)
                + " (or, for local development against the sandbox vendors only, set SANDBOX_MODE=true)"
            )

    def _secret(self) -> str:
        return self.SECRET_KEY.get_secret_value() if self.SECRET_KEY is not None else ""

    def secret_key(self) -> SecretKeys:
        """The keys that seal and open stored secrets and OAuth `state` (SECRET_KEY, SECRET_KEY_PREVIOUS)."""
        previous = self.SECRET_KEY_PREVIOUS.get_secret_value() if self.SECRET_KEY_PREVIOUS else None
        if self._secret():
            return SecretKeys(self._secret(), previous or None)
        if self.SANDBOX_MODE:
            return SecretKeys(_SANDBOX_SECRET, previous or None)
        raise ConfigError("SECRET_KEY is not set: it is required outside sandbox mode (SANDBOX_MODE)")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, checked: outside sandbox mode a configuration that must not run raises
    ConfigError (every role reads its settings through here before doing anything)."""
    settings = Settings()
    settings.require_runnable()
    return settings


def settings_or_exit(role: str) -> Settings:
    """A role's start: its settings, or one clear line on stderr and exit status 2."""
    try:
        return get_settings()
    except ConfigError as exc:
        print(f"{role}: configuration error: {exc}", file=sys.stderr)  # before logging is set up
        sys.exit(2)
