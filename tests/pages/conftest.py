"""Page tests: when one fails, the browser's last page is kept
(screenshot and HTML) in artifacts/failures/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

FAILURES = Path(__file__).resolve().parents[2] / "artifacts" / "failures"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    browser = getattr(item, "funcargs", {}).get("browser")
    if report.when == "call" and report.failed and browser is not None:
        FAILURES.mkdir(parents=True, exist_ok=True)
        try:
            browser.save_screenshot(str(FAILURES / f"{item.name}.png"))
            (FAILURES / f"{item.name}.html").write_text(
                f"<!-- {browser.current_url} -->\n{browser.page_source}"
            )
        except Exception as exc:  # the browser itself may be what failed
            (FAILURES / f"{item.name}.txt").write_text(repr(exc))
