"""The Aircall request budget (store/budgets.py; aircall-api.md §7): a sliding 60 s window
per company in Redis.

The window is a Lua script, so it runs in the suite's private Redis (the `r` fixture), with the clock passed
in: each row is a sequence of (time, expected answer) requests and nothing waits for real time to pass. An
answer of 0 means "go"; anything else is the seconds to wait until the oldest request leaves the window."""

from __future__ import annotations

import time
from typing import Any

import pytest

from clients.aircall import AircallClient
from clients.errors import RateLimited
from store import keys
from store.budgets import _AIRCALL_WINDOW, WINDOW_S, AircallBudget

COMPANY = "1"


@pytest.fixture
def window(r: Any):
    script = r.register_script(_AIRCALL_WINDOW)
    members = iter(range(1_000_000))

    def request(now: float, limit: int) -> float:
        args = [limit, now, WINDOW_S, f"{now:.6f}-{next(members)}"]
        return float(script(keys=[keys.aircall_budget(COMPANY), keys.aircall_blocked(COMPANY)], args=args))

    return request


# (time, expected wait) for each request, in order; limit 3 unless the row says otherwise.
@pytest.mark.parametrize(
    ("limit", "requests"),
    [
        pytest.param(3, [(0, 0), (1, 0), (2, 0)], id="up-to-the-limit-goes"),
        pytest.param(3, [(0, 0), (1, 0), (2, 0), (3, 57)], id="one-over-waits-for-the-oldest-to-leave"),
        pytest.param(
            3, [(0, 0), (1, 0), (2, 0), (3, 57), (30, 30), (59, 1)], id="refused-requests-are-not-counted"
        ),
        pytest.param(3, [(0, 0), (1, 0), (2, 0), (60, 0)], id="oldest-leaves-at-exactly-sixty-seconds"),
        pytest.param(3, [(0, 0), (1, 0), (2, 0), (60, 0), (60.5, 0.5)], id="then-the-next-oldest-paces-it"),
        pytest.param(3, [(0, 0), (0, 0), (0, 0), (59.999, 0.01)], id="wait-is-never-below-ten-ms"),
        pytest.param(
            3,
            [(0, 0), (1, 0), (2, 0), (200, 0), (200, 0), (200, 0), (200, 60)],
            id="a-quiet-minute-frees-the-whole-window",
        ),
        pytest.param(1, [(10, 0), (10, 60), (69.5, 0.5), (70, 0)], id="limit-of-one"),
        pytest.param(60, [*((t / 10, 0) for t in range(60)), (6, 54)], id="sixty-a-minute-in-a-burst"),
    ],
)
def test_sliding_window(window: Any, limit: int, requests: list[tuple[float, float]]) -> None:
    answers = [(t, window(t, limit)) for t, _ in requests]
    assert answers == [(t, pytest.approx(wait)) for t, wait in requests]


def test_no_minute_ever_holds_more_than_the_limit(window: Any) -> None:
    # A request every 0.25 s for five minutes, against 10 a minute: whatever the window's phase, any 60 s
    # span of accepted requests holds at most 10.
    accepted = [t / 4 for t in range(1200) if window(t / 4, 10) == 0]
    assert len(accepted) >= 10 * 5
    assert all(sum(1 for b in accepted if a <= b < a + WINDOW_S) <= 10 for a in accepted)


@pytest.mark.parametrize(
    ("blocked_until", "now", "expected"),
    [
        pytest.param(100, 40, 60, id="blocked-waits-until-the-reset"),
        pytest.param(100, 99.5, 0.5, id="almost-reset"),
        pytest.param(100, 100, 0, id="at-the-reset-goes"),
        pytest.param(100, 150, 0, id="after-the-reset-goes"),
    ],
)
def test_a_429_blocks_everyone_until_the_reset(
    r: Any, window: Any, blocked_until: float, now: float, expected: float
) -> None:
    r.set(keys.aircall_blocked(COMPANY), blocked_until)
    assert window(now, 60) == pytest.approx(expected)


def test_a_blocked_request_is_not_counted(r: Any, window: Any) -> None:
    r.set(keys.aircall_blocked(COMPANY), 100)
    assert window(50, 1) == pytest.approx(50)
    assert r.zcard(keys.aircall_budget(COMPANY)) == 0
    assert window(100, 1) == 0


def test_the_window_key_expires_after_a_quiet_minute(r: Any, window: Any) -> None:
    window(0, 3)
    assert 0 < r.ttl(keys.aircall_budget(COMPANY)) <= WINDOW_S + 5


# ---- AircallBudget: priorities on top of the window --------------------------------------------------------


@pytest.mark.parametrize(
    ("per_minute", "high", "low"),
    [
        pytest.param(60, 60, 48, id="default-60-keeps-12-for-cards"),
        pytest.param(120, 120, 96, id="120-a-minute"),
        pytest.param(10, 10, 8, id="ten"),
        pytest.param(5, 5, 4, id="five-keeps-one"),
        pytest.param(3, 3, 2, id="three-keeps-at-least-one"),
        pytest.param(2, 2, 1, id="two"),
        pytest.param(1, 1, 1, id="one-cannot-keep-a-reserve"),
    ],
)
def test_low_priority_leaves_a_reserve_for_insight_cards(
    r: Any, per_minute: int, high: int, low: int
) -> None:
    assert AircallBudget(r, COMPANY, per_minute, high_priority=True).limit == high
    assert AircallBudget(r, COMPANY, per_minute, high_priority=False).limit == low


def test_a_spent_budget_raises_rate_limited_with_the_wait_instead_of_holding_the_thread(r: Any) -> None:
    """The budget says how long; the adapter (AircallClient) parks the task instead of sleeping that long."""
    sync = AircallBudget(r, COMPANY, 5, high_priority=False, max_inline_wait_s=0)
    card = AircallBudget(r, COMPANY, 5, high_priority=True, max_inline_wait_s=0)
    for _ in range(4):
        assert sync.acquire() == 0
    assert WINDOW_S - 5 < sync.acquire() <= WINDOW_S
    with pytest.raises(RateLimited) as refused:
        AircallClient._take_from_budget(sync)
    assert refused.value.vendor == "aircall"
    assert WINDOW_S - 5 < refused.value.retry_after <= WINDOW_S
    assert card.acquire() == 0  # the reserve
    with pytest.raises(RateLimited):
        AircallClient._take_from_budget(card)
    assert card.used() == 5


def test_exhausted_until_blocks_both_priorities(r: Any) -> None:
    card = AircallBudget(r, COMPANY, 60, high_priority=True, max_inline_wait_s=0)
    card.exhausted_until(time.time() + 30)
    assert 25 < card.acquire() <= 30
    with pytest.raises(RateLimited) as refused:
        AircallClient._take_from_budget(card)
    assert 25 < refused.value.retry_after <= 30
    assert card.used() == 0
