"""The reliability suite (`make reliability`, and a short form in `make test`): real processes, faults, and
an accounting per scenario printed at the end (tests/support/accounting.py)."""

from __future__ import annotations

import pytest

from tests.support.accounting import RESULTS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not RESULTS:
        return
    terminalreporter.section("reliability accounting (per scenario)")
    for result in RESULTS:
        terminalreporter.write_line(result.line())
