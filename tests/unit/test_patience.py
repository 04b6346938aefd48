"""flows/patience.py: the CLI's in-process retries (tenacity), on a fake clock: waits as the vendor says,
bounded attempts for transient failures, a time budget for rate limits."""

from __future__ import annotations

import pytest

from clients.errors import Permanent, RateLimited, Transient
from flows import patience


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr("tenacity.nap.time.sleep", waits.append)
    return waits


def failing(*errors: Exception):  # type: ignore[no-untyped-def]
    queue = list(errors)

    def run() -> str:
        if queue:
            raise queue.pop(0)
        return "ok"

    return run


@pytest.mark.parametrize(
    ("errors", "expected_waits"),
    [
        pytest.param([], [], id="first try"),
        pytest.param(
            [RateLimited("x", retry_after=42, vendor="aircall")], [42.0], id="waits what the vendor says"
        ),
        pytest.param(
            [Transient("x", vendor="jobber")] * 2, [1.0, 2.0], id="transient backs off exponentially"
        ),
        pytest.param(
            [RateLimited("x", retry_after=3, vendor="aircall")] * 6,
            [3.0] * 6,
            id="rate limits spend no attempt",
        ),
    ],
)
def test_retries_until_it_succeeds(
    slept: list[float], errors: list[Exception], expected_waits: list[float]
) -> None:
    assert patience.patiently(failing(*errors), budget_s=3600) == "ok"
    assert slept == expected_waits


def test_transient_failures_stop_after_the_attempts() -> None:
    with pytest.raises(Transient):
        patience.patiently(
            failing(*[Transient("x", vendor="jobber")] * 9), budget_s=3600, transient_attempts=3
        )


def test_a_rate_limit_past_the_budget_is_raised_not_waited(slept: list[float]) -> None:
    with pytest.raises(RateLimited):
        patience.patiently(failing(RateLimited("x", retry_after=7200, vendor="aircall")), budget_s=3600)
    assert slept == []


def test_permanent_errors_and_unlisted_errors_are_not_retried(slept: list[float]) -> None:
    with pytest.raises(Permanent):
        patience.patiently(failing(Permanent("x", vendor="jobber")), budget_s=3600)
    with pytest.raises(Transient):
        patience.patiently(failing(Transient("x", vendor="jobber")), budget_s=3600, retry_on=(RateLimited,))
    assert slept == []
