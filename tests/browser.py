"""Headless Debian Chromium driven by Playwright for the dashboard tests (never a download).

``chromium()`` launches /usr/bin/chromium (``MULTISITE_CHROMIUM``); it skips when Chromium
or the playwright package is missing, except under ``CI=true`` where tools/test.sh installs
them. ``Watched`` records what the page must never do: console errors (a CSP violation is
one), failed requests, and requests leaving the dashboard's origin.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from tests.conftest import require_service

CHROMIUM = os.environ.get("MULTISITE_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
VIEWPORT = {"width": 1280, "height": 800}


@contextlib.contextmanager
def chromium():
    require_service("Chromium", os.access(CHROMIUM, os.X_OK),
                    f"{CHROMIUM} not found (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        require_service("playwright", False, str(exc))
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


class Watched:
    """A page in a fresh browser context, with what went wrong on it recorded."""

    def __init__(self, browser, origin: str, shots: Path):
        self.origin = origin.rstrip("/")
        self.shots = shots
        shots.mkdir(parents=True, exist_ok=True)
        self.context = browser.new_context(viewport=VIEWPORT, base_url=self.origin)
        self.context.set_default_timeout(20_000)
        self.page = self.context.new_page()
        self.console_errors: list[str] = []
        self.failed: list[str] = []
        self.foreign: list[str] = []
        self.urls: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.console_errors.append(f"pageerror: {exc}"))
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.method} {r.url}"))
        self.context.route("**/*", self._route)

    def _console(self, message):
        if message.type == "error" and "status of 40" not in message.text:
            # 4xx answers the page handles (a wrong password) are logged by Chromium
            # as "Failed to load resource"; everything else is a real error.
            self.console_errors.append(message.text)

    def _route(self, route):
        url = route.request.url
        self.urls.append(url)
        if url.startswith(self.origin + "/") or url.startswith("data:"):
            route.continue_()
        else:
            self.foreign.append(url)
            route.abort()

    def shot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def local_storage(self) -> dict:
        return self.page.evaluate("() => Object.assign({}, window.localStorage)")

    def session_storage(self) -> dict:
        return self.page.evaluate("() => Object.assign({}, window.sessionStorage)")

    def assert_clean(self):
        assert not self.console_errors, self.console_errors
        assert not self.foreign, f"requests left the origin: {self.foreign}"

    def close(self):
        self.context.close()
