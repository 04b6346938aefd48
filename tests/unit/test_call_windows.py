"""Listing calls beyond Aircall's paging ceiling, for readings the sandbox does not play: paging refused past
the ceiling (rather than stopping), a listing without `meta.total`, a listing not in start order."""

from __future__ import annotations

from typing import Any

import pytest

from clients.errors import Permanent
from flows import reconcile as rc


class Lister:
    """A stand-in for `AircallClient.list_calls` over `calls` (id -> started_at), inclusive from/to."""

    def __init__(self, calls: dict[int, int], *, ceiling: int, refuse: bool, total: bool, order: str = "asc"):
        self.calls, self.ceiling, self.refuse, self.total, self.order = calls, ceiling, refuse, total, order
        self.requests = 0

    def list_calls(self, since: float, until: float, page: int = 1, per_page: int = 50) -> dict[str, Any]:
        self.requests += 1
        window = sorted(
            (i for i, t in self.calls.items() if since <= t <= until),
            key=lambda i: (self.calls[i], i),
            reverse=self.order == "desc",
        )
        if (page - 1) * per_page >= self.ceiling:
            raise Permanent("aircall GET /v1/calls -> 400: Pagination is limited", status=400)
        chunk = window[(page - 1) * per_page : page * per_page]
        # Refusing reading: the next link is offered up to the window's end, and the page
        # past the ceiling fails.
        has_next = page * per_page < (len(window) if self.refuse else min(len(window), self.ceiling))
        meta: dict[str, Any] = {"next_page_link": "next" if has_next else None}
        if self.total:
            meta["total"] = len(window)
        return {"calls": [{"id": i, "started_at": self.calls[i]} for i in chunk], "meta": meta}


@pytest.mark.parametrize("refuse", [False, True], ids=["stops", "refuses"])
@pytest.mark.parametrize("total", [True, False], ids=["total", "no-total"])
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_every_call_once_whatever_the_ceiling_reading(refuse: bool, total: bool, order: str) -> None:
    calls = {i: 1_000_000 + (i // 3) * 7 for i in range(1, 1001)}  # three calls a second, ties everywhere
    lister = Lister(calls, ceiling=200, refuse=refuse, total=total, order=order)

    listed = [c["id"] for c in rc.recent_calls(lister, 1_000_000, 1_000_000 + 3 * 86400)]

    assert sorted(listed) == sorted(calls)  # each once
    assert lister.requests < 150  # bounded: halving, not a page-by-page crawl or a loop


def test_a_window_within_the_ceiling_is_listed_as_before() -> None:
    lister = Lister({i: 1_000 + i for i in range(120)}, ceiling=10_000, refuse=False, total=True)
    assert [c["id"] for c in rc.recent_calls(lister, 0, 10_000)] == list(range(120))
    assert lister.requests == 3  # 50 + 50 + 20: no window split when nothing is cut off


def test_more_calls_in_one_second_than_the_ceiling_are_listed_as_far_as_aircall_goes() -> None:
    lister = Lister({i: 5_000 for i in range(300)}, ceiling=100, refuse=False, total=True)
    assert len(list(rc.recent_calls(lister, 4_000, 6_000))) == 100  # the rest is logged as overfull, no loop
