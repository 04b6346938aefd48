"""REDIS_URL's two forms: a plain `redis://host:port/db`, or Celery's Redis Sentinel form
`sentinel://host1:26379;sentinel://host2:26379;sentinel://host3:26379/0` (kombu's SentinelChannel), so one
variable drives the broker, the state store and the ingest alike. The master's name comes from
REDIS_SENTINEL_MASTER (kombu's `master_name` transport option)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from config.settings import Settings

DEFAULT_SENTINEL_PORT = 26379  # kombu's SentinelTransport.default_port


@dataclass(frozen=True)
class SentinelTarget:
    """Where the sentinels are, and the database and credentials of the master they name."""

    nodes: tuple[tuple[str, int], ...]
    db: int
    username: str | None = None
    password: str | None = None


def sentinel_target(url: str) -> SentinelTarget | None:
    """The Sentinel target of a `sentinel://` REDIS_URL; None for a plain URL. ValueError when malformed.

    kombu takes the database and the credentials from whichever sentinel URL it is connected to at the time
    (it rotates through them on failure), so every part must name the same ones: otherwise the workers would
    read a different queue than the ingest writes to. Credentials are the master's (as in kombu); the
    sentinels themselves are reached without a password.
    """
    parts = [part.strip() for part in url.split(";") if part.strip()]
    schemes = {urlsplit(part).scheme for part in parts}
    if "sentinel" not in schemes:
        if len(parts) > 1:
            raise ValueError("only sentinel:// URLs may be joined with ';' in REDIS_URL")
        return None
    if schemes != {"sentinel"}:
        raise ValueError("only sentinel:// URLs may be joined with ';' in REDIS_URL")
    nodes: list[tuple[str, int]] = []
    dbs: set[int] = set()
    credentials: set[tuple[str | None, str | None]] = set()
    for part in parts:
        split = urlsplit(part)
        if not split.hostname:
            raise ValueError(f"a sentinel URL needs a host: {_safe(part)}")
        if split.query:
            raise ValueError(f"query options are not supported in a sentinel URL: {_safe(part)}")
        path = split.path.strip("/")
        if path and not (path.isascii() and path.isdigit()):
            raise ValueError(f"the path of a sentinel URL is a database number: {_safe(part)}")
        nodes.append((split.hostname, split.port or DEFAULT_SENTINEL_PORT))
        dbs.add(int(path or 0))
        credentials.add((_unquoted(split.username), _unquoted(split.password)))
    if len(dbs) > 1:
        raise ValueError("every sentinel:// part of REDIS_URL must name the same database")
    if len(credentials) > 1:
        raise ValueError("every sentinel:// part of REDIS_URL must carry the same credentials")
    username, password = credentials.pop()
    return SentinelTarget(nodes=tuple(nodes), db=dbs.pop(), username=username, password=password)


def timeouts(settings: Settings) -> dict[str, float]:
    """Connect and read timeouts of a Redis or sentinel connection (store/redis.py, the broker's options)."""
    return {
        "socket_timeout": settings.REDIS_SOCKET_TIMEOUT_S,
        "socket_connect_timeout": settings.REDIS_CONNECT_TIMEOUT_S,
    }


def _unquoted(value: str | None) -> str | None:
    return unquote(value) if value else None


def _safe(part: str) -> str:
    """The URL without its credentials: error messages end up in logs."""
    split = urlsplit(part)
    return split._replace(netloc=split.netloc.rpartition("@")[2]).geturl()
