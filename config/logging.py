"""Log lines: one JSON object per line (LOG_FORMAT=json, the service roles' default) or readable text
(LOG_FORMAT=text; the CLI's default on a terminal), with the ids of the work in hand as fields.

The code logs through the standard library with dotted event names (`log.info("tasks.calls.withdrawn
integration=%s call=%s", …)`); structlog's ProcessorFormatter renders every record, adding the fields bound
for the work in hand (`bind_ids`: integration, event, call, task), so a line can be found by id without
parsing its text; with tracing on (config/tracing.py), the `trace_id` and `span_id` it was logged in too.
Fields named like credentials are redacted whatever logs them; tokens are never logged.

Phone numbers in international form (`+14155550166`, `+1 415-555-0166`) are masked in every rendered line,
whatever wrote them (a skip reason, an exception, a bound field): `+1415•••0166`. The ledger, `ajctl events
show` and the settings page keep the full text: callers' numbers are the tenant's own data, log lines are not.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from typing import IO, Any

import structlog
from structlog.contextvars import bound_contextvars
from structlog.typing import EventDict, WrappedLogger

from config import tracing

SECRET_FIELDS = frozenset(
    {"token", "access_token", "refresh_token", "api_token", "password", "secret", "authorization"}
)

bind_ids = bound_contextvars  # `with bind_ids(integration=…, event=…):` every line inside carries them


def _redact(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    for key in event:
        if key.lower() in SECRET_FIELDS:
            event[key] = "[redacted]"
    return event


def _trace_ids(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    # With tracing on (config/tracing.py), a line logged inside a span names its trace: logs and traces meet.
    found = tracing.current_ids()
    if found is not None:
        event["trace_id"], event["span_id"] = found
    return event


# A "+", then 7 to 15 digits, each group apart by at most two of space . - ( ): E.164 as written or formatted.
_PHONE = re.compile(r"\+\d(?:[ .()\-]{0,2}\d){6,14}(?!\d)")


def _masked(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    keep = 4 if len(digits) >= 10 else 2  # the country code and area, and the last digits
    return f"+{digits[:keep]}•••{digits[-keep:]}"


def mask_phones(text: str) -> str:
    """`text` with every phone number in international form masked (+14155550166 → +1415•••0166)."""
    return _PHONE.sub(_masked, text) if "+" in text else text


class _MaskPhones:
    """The renderer, then phone numbers masked in the whole rendered line (message, fields and traceback)."""

    def __init__(self, renderer: Any):
        self.renderer = renderer

    def __call__(self, logger: WrappedLogger, name: str, event: EventDict) -> str:
        return mask_phones(str(self.renderer(logger, name, event)))


class _Handler(logging.StreamHandler[IO[str]]):
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
        _trace_ids,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *([structlog.processors.format_exc_info] if fmt == "json" else []),
            _MaskPhones(renderer),
        ],
    )
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(handler)
    handler = _Handler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root.addHandler(handler)
    root.setLevel(level)
