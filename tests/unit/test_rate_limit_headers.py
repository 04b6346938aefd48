"""Waits read from vendor rate-limit headers: normalised whatever unit the vendor uses, and always bounded.

`X-AircallApi-Reset` is documented as a UNIX timestamp (aircall-api.md §7) but whether seconds or milliseconds
is unconfirmed; `Retry-After` is unconfirmed for Aircall and may be delta-seconds or an HTTP-date (RFC 9110).
A misread header must never make a worker wait for decades."""

from __future__ import annotations

import pytest
import requests

from clients.aircall import rate_limit_wait
from clients.jobber import throttle_wait, too_many_requests_wait
from clients.ratelimit import AIRCALL_MAX_WAIT_S, JOBBER_MAX_WAIT_S, MIN_WAIT_S, reset_wait, retry_after_wait

NOW = 1_790_000_000.0  # 2026-09-21T14:13:20Z


def response(**headers: str) -> requests.Response:
    made = requests.Response()
    made.status_code = 429
    made.headers.update(headers)
    return made


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1790000030", 30.0),  # UNIX seconds, as documented
        ("1790000030000", 30.0),  # UNIX milliseconds
        ("1790000030.5", 30.5),  # fractional seconds
        ("1790000030500", 30.5),  # milliseconds with a fraction of a second
        ("45", 45.0),  # a small number is seconds to wait, not a 1970 timestamp
        ("1789999990", -10.0),  # already past (clock skew): the caller bounds it
        ("", None),
        ("soon", None),
        ("-5", None),
        ("0", None),
    ],
)
def test_reset_header_in_seconds_or_milliseconds(value: str, expected: float | None) -> None:
    assert reset_wait(value, NOW) == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30", 30.0),
        (" 7 ", 7.0),
        ("2.5", 2.5),
        ("Mon, 21 Sep 2026 14:14:20 GMT", 60.0),  # HTTP-date form
        ("", None),
        ("later", None),
        ("-1", None),
    ],
)
def test_retry_after_in_seconds_or_as_a_date(value: str, expected: float | None) -> None:
    assert retry_after_wait(value, NOW) == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-AircallApi-Reset": "1790000042"}, 42.0),
        ({"X-AircallApi-Reset": "1790000042000"}, 42.0),
        ({"X-AircallApi-Reset": "1789999000"}, MIN_WAIT_S),  # in the past: retry soon, not at once
        ({"X-AircallApi-Reset": "4102444800"}, AIRCALL_MAX_WAIT_S),  # year 2100: bounded
        ({"X-AircallApi-Reset": "4102444800000"}, AIRCALL_MAX_WAIT_S),
        ({"Retry-After": "20"}, 20.0),
        ({"Retry-After": "86400"}, AIRCALL_MAX_WAIT_S),
        ({"Retry-After": "Mon, 21 Sep 2026 14:13:50 GMT"}, 30.0),
        ({"X-AircallApi-Reset": "garbage", "Retry-After": "12"}, 12.0),
        ({}, 60.0),  # nothing usable: Aircall's window is one minute
    ],
)
def test_aircall_429_wait_is_normalised_and_bounded(headers: dict[str, str], expected: float) -> None:
    assert rate_limit_wait(response(**headers), now=NOW) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "12"}, 12.0),
        ({"Retry-After": "999999"}, JOBBER_MAX_WAIT_S),
        ({"Retry-After": "Mon, 21 Sep 2026 14:15:20 GMT"}, 120.0),
        ({}, 30.0),
    ],
)
def test_jobber_429_wait_is_normalised_and_bounded(headers: dict[str, str], expected: float) -> None:
    assert too_many_requests_wait(response(**headers), now=NOW) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("cost", "expected"),
    [
        (
            {"requestedQueryCost": 1500, "throttleStatus": {"currentlyAvailable": 500, "restoreRate": 500}},
            2.0,
        ),
        ({"requestedQueryCost": 10, "throttleStatus": {"currentlyAvailable": 500, "restoreRate": 500}}, 1.0),
        (
            {"requestedQueryCost": 9000, "throttleStatus": {"currentlyAvailable": 0, "restoreRate": 0.001}},
            60.0,
        ),
        ({}, 1.0),
    ],
)
def test_jobber_throttled_wait_is_bounded(cost: dict[str, object], expected: float) -> None:
    assert throttle_wait({"extensions": {"cost": cost}}) == pytest.approx(expected)
