"""A real headless browser for page tests: Debian's chromium driven through its chromedriver by Selenium.

Nothing is downloaded at run time (Selenium Manager is bypassed by naming both binaries). Screenshots go to
`artifacts/screenshots/` and are checked not to be blank.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from tests.support.poll import until

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver")


def start_chromium(javascript: bool = True) -> tuple[WebDriver, str]:
    """(driver, its profile dir). Fails loudly when the browser is missing: `make test` installs it.
    `javascript=False`: a browser with scripts switched off for every page (its content settings)."""
    for binary in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.exists(binary) or shutil.which(binary)):
            raise RuntimeError(
                f"{binary} is missing: run `make test` (it installs chromium and chromium-driver)"
            )
    profile = tempfile.mkdtemp(prefix="aj-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1600",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    return driver, profile


def screenshot(driver: WebDriver, name: str) -> Path:
    """Save the whole page as artifacts/screenshots/<name>.png and check it shows something."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, max(800, min(int(height) + 120, 6000)))
    driver.save_screenshot(str(path))
    assert_not_blank(path)
    return path


def assert_not_blank(path: Path) -> None:
    with Image.open(path) as image:
        rgb = image.convert("RGB")
        colors = rgb.getcolors(maxcolors=1 << 20) or []
        extrema = rgb.convert("L").getextrema()
    assert len(colors) > 20, f"{path} looks blank ({len(colors)} colours)"
    assert extrema[1] - extrema[0] > 100, f"{path} has no contrast: {extrema}"


def text_of(driver: WebDriver, css: str) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, css).text)


def wait_for(driver: WebDriver, css: str, timeout: float = 10.0) -> WebElement:
    return until(lambda: (driver.find_elements(By.CSS_SELECTOR, css) or [None])[0], timeout, what=css)


def click(element: WebElement) -> None:
    """Scroll an element to the middle of the window first
    (the page's sticky save bar covers the bottom edge)."""
    element.parent.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def click_and_load(element: WebElement, timeout: float = 15.0) -> None:
    """Click something that loads a new page, and wait until the old page is gone (never read the old one)."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.support.wait import WebDriverWait

    driver = element.parent
    old = driver.find_element(By.TAG_NAME, "html")
    click(element)

    def old_page_gone(_: object) -> bool:
        try:
            old.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:
            # Mid-navigation chromedriver may say this instead of "stale element": the old page is gone too.
            if "does not belong to the document" in str(exc):
                return True
            raise
        return False

    WebDriverWait(driver, timeout).until(old_page_gone)
