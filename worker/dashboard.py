"""The Procfile's `flower` role: Flower behind basic auth (FLOWER_BASIC_AUTH), else on loopback only.

`python -m worker.dashboard` replaces itself with `celery -A worker.app flower`. With FLOWER_BASIC_AUTH
(`user:password`, several pairs comma-separated) Flower listens on FLOWER_HOST (default 0.0.0.0) and asks
every request for those credentials; without it, it listens on 127.0.0.1 whatever FLOWER_HOST says, so an
unprotected dashboard (which can also revoke tasks and shut workers down) is never reachable from the network.

The credentials reach Flower through its own FLOWER_BASIC_AUTH environment variable, never on the command
line, where every user of the machine could read them (`ps`).
"""

from __future__ import annotations

import logging
import os
import sys

from config.logging import configure as configure_logging
from config.settings import settings_or_exit

log = logging.getLogger(__name__)
LOOPBACK = "127.0.0.1"


class CredentialsError(ValueError):
    """FLOWER_BASIC_AUTH is set but unusable; the message never contains it."""


def credentials(value: str) -> list[str]:
    """The `user:password` pairs of FLOWER_BASIC_AUTH. Flower splits the value on commas and accepts any
    entry as a whole credential, so an entry without a user or a password (`ops:pa,ss` makes `ss` one)
    would let in whoever sends it: refuse those instead of starting."""
    pairs = [pair.strip() for pair in value.split(",")]
    for pair in pairs:
        user, colon, password = pair.partition(":")
        if not (colon and user and password):
            raise CredentialsError(
                "FLOWER_BASIC_AUTH must be user:password (several pairs comma-separated; a password "
                "cannot contain a comma)"
            )
    return pairs


def command(env: dict[str, str], basic_auth: str | None) -> tuple[list[str], dict[str, str]]:
    """The Flower command line and its environment."""
    env = {k: v for k, v in env.items() if k not in ("FLOWER_BASIC_AUTH", "FLOWER_ADDRESS")}
    port = env.get("FLOWER_PORT") or "5555"
    if basic_auth and basic_auth.strip():
        env["FLOWER_BASIC_AUTH"] = ",".join(credentials(basic_auth))
        host = env.get("FLOWER_HOST") or "0.0.0.0"  # noqa: S104 - credentials required from here on
    else:
        host = LOOPBACK
    return ["celery", "-A", "worker.app", "flower", f"--address={host}", f"--port={port}"], env


def main() -> None:
    configure_logging()
    secret = settings_or_exit("flower").FLOWER_BASIC_AUTH  # the environment or .env
    try:
        argv, env = command(dict(os.environ), secret.get_secret_value() if secret else None)
    except CredentialsError as exc:
        log.error("worker.dashboard.refused %s", exc)
        sys.exit(2)
    if "FLOWER_BASIC_AUTH" not in env:
        log.warning(
            "worker.dashboard.loopback_only FLOWER_BASIC_AUTH is unset: Flower listens on %s", LOOPBACK
        )
    os.execvpe(argv[0], argv, env)  # noqa: S606 - a fixed program, no shell


if __name__ == "__main__":
    main()
