"""config/logging.py: one JSON object per line, with the ids bound for the work in hand,
credentials redacted."""

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
        "int_1",
        "ev_2",
        "tasks.calls",
        "info",
    )
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


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("+14155550166", "+1415•••0166"),
        ("+1 (415) 555-0166", "+1415•••0166"),
        ("+33 6 12 34 56 78", "+3361•••5678"),
        ("+4420 7946 0958", "+4420•••0958"),
        ("+3227", "+3227"),  # too short to be a number: left alone
    ],
)
def test_phone_numbers_are_masked_in_the_message_fields_and_traceback(
    lines: io.StringIO, written: str, shown: str
) -> None:
    log = logging.getLogger("tasks.calls")
    with log_config.bind_ids(caller=written):
        log.info(
            "tasks.skipped event=ev_1 reason=no Jobber client has %s, and contact creation is off", written
        )
    try:
        raise ValueError(f"no client for {written}")
    except ValueError:
        log.exception("tasks.failed")
    skipped, failed = parsed(lines)

    assert (
        skipped["event"]
        == f"tasks.skipped event=ev_1 reason=no Jobber client has {shown}, and contact creation is off"
    )
    assert skipped["caller"] == shown
    assert f"ValueError: no client for {shown}" in failed["exception"]
    if shown != written:
        assert written not in lines.getvalue()


def test_ids_times_and_offsets_are_not_taken_for_phone_numbers(lines: io.StringIO) -> None:
    text = "call=5000000001 at=2025-06-01T10:00:00+00:00 event=ev_9f2c+1 count=+12"
    logging.getLogger("x").info(text)
    [line] = parsed(lines)
    assert line["event"] == text


def test_text_lines_are_masked_too() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    try:
        log_config.configure(fmt="text", stream=stream)
        logging.getLogger("x").warning("x.y caller=%s", "+14155550166")
    finally:
        for handler in [h for h in root.handlers if isinstance(h, log_config._Handler)]:
            root.removeHandler(handler)
        root.setLevel(level)
    assert "+1415•••0166" in stream.getvalue() and "+14155550166" not in stream.getvalue()
