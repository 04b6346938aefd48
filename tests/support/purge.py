"""Running the uninstall purge to its end in a test (what beat does every few minutes)."""

from __future__ import annotations

from typing import Any

from flows.purge import purge
from store.purge import Purges
from tests.support.poll import until


def run_purge_to_the_end(r: Any, now: float | None = None) -> None:
    """Purge until no pass is left (a delete already started one on the worker, if one runs)."""

    def idle() -> bool:
        purge(now=now)
        return not Purges(r).due(now) and Purges(r).current() is None

    until(idle, timeout=30, what="the purge")
