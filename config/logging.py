"""Log lines: one JSON object per line (LOG_FORMAT=json, the service roles' default) or readable text
(LOG_FORMAT=text; the CLI's default on a terminal), with the ids of the work in hand as fields.

The code logs through the standard library with dotted event names (`log.info("tasks.calls.withdrawn
integration=%s call=%s", …)`); structlog's ProcessorFormatter renders every record, adding the fields bound
for the work in hand (`bind_ids`: integration, event, call, task), so a line can be found by id without
parsing its text. Fields named like credentials are redacted whatever logs them; tokens are never logged.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import IO, Any

import structlog
from structlog.contextvars import bound_contextvars
from structlog.typing import EventDict, WrappedLogger

SECRET_FIELDS = frozenset(
    {"token", "access_token", "refresh_token", "api_token", "password", "secret", "authorization"}
)

bind_ids = bound_contextvars  # `with bind_ids(integration=…, event=…):` every line inside carries them


def _redact(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    for key in event:
        if key.lower() in SECRET_FIELDS:
            event[key] = "[redacted]"
    return event


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """Ours, so configuring twice (an embedded worker in a test, then the CLI) does not add a second one."""


def configure(level: int = logging.INFO, fmt: str | None = None, stream: IO[str] | None = None) -> None:
    """Install the formatter on the root logger (once; other handlers, e.g. pytest's, are left alone)."""
    fmt = (fmt or os.environ.get("LOG_FORMAT") or "json").lower()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *([structlog.processors.format_exc_info] if fmt == "json" else []),
            renderer,
        ],
    )
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(handler)
    handler = _Handler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root.addHandler(handler)
    root.setLevel(level)
