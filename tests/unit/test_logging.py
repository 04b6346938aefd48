"""config/logging.py: one JSON object per line, with the ids bound for the work in hand, credentials redacted."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from config import logging as log_config


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    log_config.configure(fmt="json", stream=stream)
    yield stream
    for handler in [h for h in root.handlers if isinstance(h, log_config._Handler)]:
        root.removeHandler(handler)
    root.setLevel(level)


def parsed(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_line_carries_the_ids_bound_for_the_work_in_hand(lines: io.StringIO) -> None:
    log = logging.getLogger("tasks.calls")
    with log_config.bind_ids(integration_id="int_1", event_id="ev_2"):
        log.info("tasks.calls.logged call=%s", 7)
    log.info("tasks.after")
    inside, after = parsed(lines)
    assert inside["event"] == "tasks.calls.logged call=7"
    assert (inside["integration_id"], inside["event_id"], inside["logger"], inside["level"]) == (
        "int_1", "ev_2", "tasks.calls", "info")  # fmt: skip
    assert "integration_id" not in after  # the binding ends with its block
    assert inside["timestamp"].endswith("Z")


@pytest.mark.parametrize("field", ["token", "access_token", "Authorization", "api_token", "secret"])
def test_credential_fields_are_redacted_whoever_binds_them(lines: io.StringIO, field: str) -> None:
    with log_config.bind_ids(**{field: "s3cr3t"}):
        logging.getLogger("x").warning("x.y")
    [line] = parsed(lines)
    assert line[field] == "[redacted]" and "s3cr3t" not in lines.getvalue()


def test_an_exception_is_one_json_line_with_its_traceback(lines: io.StringIO) -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("x").exception("x.failed")
    [line] = parsed(lines)
    assert line["level"] == "error" and "ValueError: boom" in line["exception"]


def test_configuring_twice_keeps_one_handler(lines: io.StringIO) -> None:
    log_config.configure(fmt="json", stream=lines)
    ours = [h for h in logging.getLogger().handlers if isinstance(h, log_config._Handler)]
    assert len(ours) == 1
