"""The retry policy's numbers (worker/retry.py): the backoff between transient attempts (exponential, capped,
jittered into [50 %, 100 %]) and the wait after a rate limit (the vendor's retry_after, bounded, plus
up to 1 s to spread a herd). The decision of each policy is pure; its bookkeeping lives in the suite's
private Redis."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import worker.retry
from clients.errors import RateLimited, Transient
from store import keys
from store.dead_letters import DeadLetters
from worker.retry import BACKOFF_BASE_S, MAX_RATE_LIMIT_WAIT_S, IntegrationTask, backoff_delay


def jitter_at(monkeypatch: pytest.MonkeyPatch, end: str) -> None:
    """Make the policy's jitter land on one end of its range: "low" (a) or "high" (b) of uniform(a, b)."""
    monkeypatch.setattr(
        worker.retry.random, "uniform", (lambda a, b: a) if end == "low" else (lambda a, b: b)
    )


# ---- backoff_delay -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempt", "cap_s", "base_s", "low", "high"),
    [
        pytest.param(1, 600, BACKOFF_BASE_S, 1.0, 2.0, id="first-attempt-about-the-base"),
        pytest.param(2, 600, BACKOFF_BASE_S, 2.0, 4.0, id="second-doubles"),
        pytest.param(3, 600, BACKOFF_BASE_S, 4.0, 8.0, id="third-doubles-again"),
        pytest.param(9, 600, BACKOFF_BASE_S, 256.0, 512.0, id="ninth-still-under-the-cap"),
        pytest.param(10, 600, BACKOFF_BASE_S, 300.0, 600.0, id="tenth-capped-at-600"),
        pytest.param(12, 600, BACKOFF_BASE_S, 300.0, 600.0, id="default-last-attempt-capped"),
        pytest.param(0, 600, BACKOFF_BASE_S, 1.0, 2.0, id="attempt-zero-treated-as-first"),
        pytest.param(-3, 600, BACKOFF_BASE_S, 1.0, 2.0, id="negative-attempt-treated-as-first"),
        pytest.param(1, 1, BACKOFF_BASE_S, 0.5, 1.0, id="cap-below-the-base-wins"),
        pytest.param(7, 1, BACKOFF_BASE_S, 0.5, 1.0, id="test-suite-cap-of-one-second"),
        pytest.param(3, 600, 0.5, 1.0, 2.0, id="other-base"),
        pytest.param(60, 600, BACKOFF_BASE_S, 300.0, 600.0, id="far-past-the-cap"),
    ],
)
def test_backoff_is_exponential_capped_and_jittered_into_the_upper_half(
    monkeypatch: pytest.MonkeyPatch, attempt: int, cap_s: float, base_s: float, low: float, high: float
) -> None:
    jitter_at(monkeypatch, "low")
    assert backoff_delay(attempt, cap_s, base_s) == pytest.approx(low)
    jitter_at(monkeypatch, "high")
    assert backoff_delay(attempt, cap_s, base_s) == pytest.approx(high)


@pytest.mark.parametrize(
    ("attempt", "cap_s"),
    [pytest.param(1, 600, id="first"), pytest.param(4, 600, id="fourth"), pytest.param(20, 600, id="capped")],
)
def test_real_jitter_stays_in_range_and_spreads_the_herd(attempt: int, cap_s: float) -> None:
    ceiling = min(cap_s, BACKOFF_BASE_S * 2 ** (attempt - 1))
    delays = [backoff_delay(attempt, cap_s) for _ in range(500)]
    assert all(ceiling * 0.5 <= d <= ceiling for d in delays)
    assert len(set(delays)) > 400  # not one fixed delay: retries of a shared outage do not come back together


def test_a_huge_attempt_number_waits_the_cap() -> None:
    """2.0 ** 1024 overflows; RETRY_MAX_ATTEMPTS has no upper bound, so the exponent must be bounded."""
    assert 300.0 <= backoff_delay(1100, 600) <= 600.0


# ---- the policies: what a task waits, decided by IntegrationTask -------------------------------------------


class _ProbeTask(IntegrationTask):
    name = "tests.retry_probe"  # never registered with the app: nothing can send it to a worker


class Probe:
    """An IntegrationTask with a request pushed and `_later` captured instead of parking a message."""

    def __init__(self, task_id: str, retries: int = 0):
        from worker.app import app

        _ProbeTask.bind(app)
        self.task = _ProbeTask()
        self.task.push_request(id=task_id, retries=retries, delivery_info={"routing_key": "default"})
        self.countdowns: list[float] = []
        self.task._later = lambda countdown, args, kwargs: self.countdowns.append(countdown)

    def rate_limited(self, retry_after: float) -> None:
        self.task._wait_for_rate_limit(RateLimited("429", retry_after=retry_after), ("int_probe",), {})

    def transient(self) -> None:
        self.task._retry_transient(Transient("503"), ("int_probe",), {})


@pytest.fixture
def probe(r: Any) -> Iterator[type[Probe]]:
    yield Probe


@pytest.mark.parametrize(
    ("retry_after", "wait"),
    [
        pytest.param(0.0, 0.0, id="retry-now"),
        pytest.param(2.5, 2.5, id="vendor-wait-honoured"),
        pytest.param(60.0, 60.0, id="a-minute"),
        pytest.param(MAX_RATE_LIMIT_WAIT_S, MAX_RATE_LIMIT_WAIT_S, id="exactly-the-bound"),
        pytest.param(86_400.0, MAX_RATE_LIMIT_WAIT_S, id="a-day-is-bounded-to-15-minutes"),
        pytest.param(-30.0, 0.0, id="negative-is-now"),
    ],
)
def test_a_rate_limit_waits_what_the_vendor_asked_bounded_plus_up_to_a_second(
    probe: type[Probe], monkeypatch: pytest.MonkeyPatch, retry_after: float, wait: float
) -> None:
    for end, spread in (("low", 0.0), ("high", 1.0)):
        jitter_at(monkeypatch, end)
        p = probe(f"task-rl-{end}")
        p.rate_limited(retry_after)
        assert p.countdowns == [pytest.approx(wait + spread)]


def test_rate_limit_waits_add_up_against_the_budget_then_dead_letter(
    probe: type[Probe], r: Any, settings_env: Any
) -> None:
    settings_env.setenv("RATE_LIMIT_BUDGET_S", "100")
    p = probe("task-budget")
    p.rate_limited(60)
    p.rate_limited(30)
    assert len(p.countdowns) == 2  # 90 s waited: within the budget
    p.rate_limited(30)
    assert len(p.countdowns) == 2  # 120 s: over it, so no third wait...
    letter = DeadLetters(r).get("task-budget")  # ...but a dead letter, replayable
    assert letter is not None and "waited 120s for rate limits (budget 100s)" in letter.error


@pytest.mark.parametrize(
    ("retries", "rate_limit_waits", "attempt"),
    [
        pytest.param(0, 0, 1, id="first-delivery"),
        pytest.param(3, 0, 4, id="three-transient-retries"),
        pytest.param(3, 3, 1, id="rate-limit-waits-spend-no-attempt"),
        pytest.param(5, 2, 4, id="mixed"),
    ],
)
def test_transient_backoff_counts_only_transient_attempts(
    probe: type[Probe],
    r: Any,
    settings_env: Any,
    monkeypatch: pytest.MonkeyPatch,
    retries: int,
    rate_limit_waits: int,
    attempt: int,
) -> None:
    settings_env.setenv("RETRY_BACKOFF_MAX_S", "600")
    p = probe(f"task-tr-{retries}-{rate_limit_waits}", retries=retries)
    if rate_limit_waits:
        r.hset(keys.rate_limited(p.task.request.id), "waits", rate_limit_waits)
    assert p.task.transient_attempts() == attempt
    jitter_at(monkeypatch, "high")
    p.transient()
    assert p.countdowns == [pytest.approx(min(600.0, BACKOFF_BASE_S * 2 ** (attempt - 1)))]


def test_the_last_transient_attempt_dead_letters_instead_of_waiting(
    probe: type[Probe], r: Any, settings_env: Any
) -> None:
    settings_env.setenv("RETRY_MAX_ATTEMPTS", "3")
    p = probe("task-last", retries=2)  # this run is the third attempt
    p.transient()
    assert p.countdowns == []
    letter = DeadLetters(r).get("task-last")
    assert letter is not None and letter.error.startswith("gave up after 3 attempts") and letter.attempts == 3
