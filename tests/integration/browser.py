"""A real browser for the console's tests: the distribution's headless Chromium through Selenium.

Chromium comes from Debian (``chromium``, ``chromium-driver``: scripts/bootstrap.sh installs
them); Selenium is told never to download a driver (``SE_OFFLINE``). The flags keep Chromium off
the network it would otherwise try to reach at start (this machine has none) and let it run as
root in a container. Each test gets a clean browser state (cookies and storage cleared).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless=new",
    "--no-sandbox",  # root in a container has no user namespace for the sandbox
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--window-size=1400,1000",
)


class Browser:
    """One Chromium; ``page`` loads a URL, ``find``/``wait`` look at it as a person would."""

    def __init__(self, profile: Path) -> None:
        os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not try to fetch a driver
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in (*FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        self.driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        self.driver.set_page_load_timeout(20)

    @staticmethod
    def available() -> bool:
        return shutil.which(CHROMIUM) is not None and shutil.which(CHROMEDRIVER) is not None

    def reset(self, base_url: str) -> None:
        """Forget the previous test: cookies and local storage of ``base_url``."""
        self.driver.get(base_url + "/console/static/console.css")
        self.driver.delete_all_cookies()
        self.driver.execute_script("window.localStorage.clear()")
        self.console_errors()  # drain: the next test reads only its own

    def page(self, url: str) -> None:
        self.driver.get(url)

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def all(self, css: str) -> list[WebElement]:
        return list(self.driver.find_elements(By.CSS_SELECTOR, css))

    def wait(
        self, probe: Callable[[Browser], Any], *, timeout: float = 10.0, what: str = ""
    ) -> Any:
        """Polls ``probe`` until it returns something truthy; the message names ``what``."""
        # A live page replaces elements as it updates: a probe that met a replaced one tries again.
        return WebDriverWait(
            self.driver,
            timeout,
            poll_frequency=0.05,
            ignored_exceptions=[StaleElementReferenceException],
        ).until(lambda _: probe(self), message=f"timed out waiting for {what}; {self._glance()}")

    def _glance(self) -> str:
        """What the page showed when a wait gave up: its URL and the start of its text."""
        try:
            body = str(self.driver.execute_script("return document.body.innerText"))
        except Exception as exc:  # only for the failure message: never hide the real one
            body = f"(unreadable: {exc})"
        return f"at {self.url}: {body[:600]!r}"

    def type_into(self, css: str, *keys: str, timeout: float = 10.0) -> None:
        """Type ``keys`` into the field ``css`` (again into its replacement if the live page
        swapped it while typing began)."""

        def typed(b: Browser) -> bool:
            b.find(css).send_keys(*keys)
            return True

        self.wait(typed, timeout=timeout, what=f"the field {css}")

    def press(self, container: str, label: str, *, timeout: float = 10.0) -> None:
        """Click the enabled button labelled ``label`` inside ``container``, as a person would
        (once it is there; again if the page replaced it under the pointer)."""

        def click(b: Browser) -> bool:
            found = [x for x in b.all(f"{container} button") if x.text == label and x.is_enabled()]
            if found:
                found[0].click()
            return bool(found)

        self.wait(click, timeout=timeout, what=f"the {label!r} button")

    def text(self, css: str) -> str:
        """The visible text of the first match ("" if none), read in one step in the page: a
        live page may replace the element between a find and a read."""
        script = "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';"
        return str(self.driver.execute_script(script, css))

    @property
    def url(self) -> str:
        return str(self.driver.current_url)

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(path))

    def console_errors(self) -> list[str]:
        """Severe messages of the page's console (script errors, failed loads)."""
        return [
            str(entry["message"])
            for entry in self.driver.get_log("browser")  # type: ignore[no-untyped-call]
            if entry.get("level") == "SEVERE"
        ]

    def quit(self) -> None:
        self.driver.quit()
