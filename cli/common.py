"""What every ajctl command shares: the context object (settings and stores, built once per run), the
`--json` option, and turning expected failures into one line on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import cached_property
from typing import Any

import click

from config.integration import IntegrationSettings, SettingsError
from config.settings import ConfigError, Settings, get_settings
from flows.errors import VendorError
from flows.lifecycle import InstallError
from flows.vendors import store_for
from store.integrations import Integration, IntegrationStore
from store.redis import RedisClient, sync_client

json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")


class Ops:
    """The click context object (`ctx.obj`): built on first use, so `--help` works without a configuration."""

    @cached_property
    def settings(self) -> Settings:
        return get_settings()

    @cached_property
    def r(self) -> RedisClient:
        return sync_client(self.settings.REDIS_URL)

    @cached_property
    def store(self) -> IntegrationStore:
        return store_for(self.settings)


pass_ops = click.make_pass_decorator(Ops, ensure=True)


def fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def load_settings_file(path: str) -> IntegrationSettings:
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, ValueError) as exc:
        raise SettingsError(f"cannot read settings file {path}: {exc}") from None
    return IntegrationSettings.parse(doc)


def guarded(fn: Callable[..., None]) -> Callable[..., None]:
    """Turn expected failures into one clear line on stderr and a non-zero exit (no tracebacks)."""

    def run(*args: Any, **kwargs: Any) -> None:
        try:
            fn(*args, **kwargs)
        except (SettingsError, InstallError, ConfigError, VendorError, RuntimeError) as exc:
            fail(str(exc))
        except KeyError as exc:
            fail(str(exc.args[0]) if exc.args else "not found", code=2)

    run.__name__ = fn.__name__
    run.__doc__ = fn.__doc__
    return run


def require_active(ops: Ops, integration_id: str) -> Integration:
    """The integration, or a clear refusal when it is not active (sync and backfill need it logging)."""
    integration = ops.store.require(integration_id)
    if not integration.is_active:
        raise SettingsError(
            f"integration {integration_id} is {integration.status}: {integration.message or ''}"
        )
    return integration
