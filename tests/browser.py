"""Debian's browsers for the dashboard tests (never a browser download).

``chromium()`` launches headless /usr/bin/chromium (``MULTISITE_CHROMIUM``) driven by
Playwright. ``firefox()`` launches headless /usr/bin/firefox-esr (``MULTISITE_FIREFOX``)
with its built-in Marionette server and drives it with Mozilla's ``marionette_driver``
client (no geckodriver: Debian does not package it). Both skip when the browser or its
client package is missing, except under ``CI=true`` where tools/test.sh installs them.
``Watched`` records what a Chromium page must never do: console errors (a CSP violation is
one), failed requests, and requests leaving the dashboard's origin.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from pathlib import Path

from tests.conftest import require_service

CHROMIUM = os.environ.get("MULTISITE_CHROMIUM", "/usr/bin/chromium")
FIREFOX = os.environ.get("MULTISITE_FIREFOX", "/usr/bin/firefox-esr")
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


# Firefox preferences for a test profile: Marionette on a free port (written by Firefox to
# <profile>/MarionetteActivePort), nothing fetched from Mozilla's services.
FIREFOX_PREFS = {
    "marionette.port": 0,
    "app.update.disabledForTesting": True,
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reporting.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "extensions.update.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
}


class Firefox:
    """Headless Firefox ESR over Marionette: a few Playwright-like helpers on one tab."""

    def __init__(self, client, origin: str, shots: Path):
        self.client = client
        self.origin = origin.rstrip("/")
        self.shots = shots
        shots.mkdir(parents=True, exist_ok=True)

    def goto(self, path: str):
        self.client.navigate(self.origin + path)

    def js(self, body: str, *args):
        """Run `body` (a function body: use `arguments[i]` and `return`) in the page."""
        return self.client.execute_script(body, script_args=list(args))

    def wait(self, body: str, *args, timeout: float = 30, what: str = ""):
        """Poll the script `body` until it returns something truthy; return that."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.js(body, *args)
            if got:
                return got
            if time.monotonic() > deadline:
                self.shot("firefox-timeout")
                shown = self.js("return document.body.innerText")[:1500]
                raise AssertionError(f"Firefox: not within {timeout} s: {what or body}; "
                                     f"the page shows:\n{shown}")
            time.sleep(0.2)

    def find(self, css: str, timeout: float = 30):
        self.wait("return document.querySelector(arguments[0]) !== null", css,
                  timeout=timeout, what=css)
        return self.client.find_element("css selector", css)

    def fill(self, css: str, text: str):
        element = self.find(css)
        element.clear()
        element.send_keys(text)

    def click(self, css: str):
        self.find(css).click()

    def text(self, css: str = "body") -> str:
        return self.find(css).text

    def wait_text(self, text: str, timeout: float = 30):
        self.wait("return document.body.innerText.includes(arguments[0])", text,
                  timeout=timeout, what=repr(text))

    def shot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        path.write_bytes(self.client.screenshot(format="binary", full=True))
        return path


@contextlib.contextmanager
def firefox(origin: str, tmp_path: Path, shots: Path):
    """Yield a `Firefox` on a fresh profile under `tmp_path`; Firefox's output goes to
    <tmp_path>/firefox.log."""
    require_service("Firefox", os.access(FIREFOX, os.X_OK),
                    f"{FIREFOX} not found (apt-get install firefox-esr)")
    try:
        from marionette_driver.marionette import Marionette
    except ImportError as exc:
        require_service("marionette_driver", False, str(exc))
    profile = tmp_path / "firefox-profile"
    profile.mkdir()
    (profile / "user.js").write_text("".join(
        f"user_pref({json.dumps(key)}, {json.dumps(value)});\n"
        for key, value in FIREFOX_PREFS.items()))
    env = dict(os.environ, MOZ_HEADLESS="1", MOZ_HEADLESS_WIDTH=str(VIEWPORT["width"]),
               MOZ_HEADLESS_HEIGHT=str(VIEWPORT["height"]))
    with open(tmp_path / "firefox.log", "wb") as log:
        proc = subprocess.Popen(
            [FIREFOX, "--headless", "--marionette", "--no-remote", "--profile", str(profile)],
            stdout=log, stderr=subprocess.STDOUT, env=env)
    client = None
    try:
        port_file = profile / "MarionetteActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"Firefox's Marionette did not start (exit {proc.poll()});"
                                     f" see {tmp_path / 'firefox.log'}")
            time.sleep(0.1)
        client = Marionette(host="127.0.0.1", port=int(port_file.read_text()))
        client.start_session()
        client.timeout.page_load = 60
        yield Firefox(client, origin, shots)
    finally:
        if client is not None:
            with contextlib.suppress(Exception):
                client.delete_session()
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
