"""Browser fixtures: Debian's Chromium driven by Playwright for Python, against the real server (`live_server`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.chromium import CHROMIUM, launch
from tests.waiting import wait_until


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            raise RuntimeError(f"{CHROMIUM} is missing: CI must run the browser tests (apt-get install chromium)")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium): browser tests skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser):
    """A fresh browser context (so a fresh server session) per test, at TF's desktop size."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context
    context.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and "favicon" not in message.location.get("url", "")
            and page.problems.append(message.text)
        ),
    )
    return page


class Playground:
    """The page under test, with the reads the tests share. Waits are bounded; nothing asserts wall-clock times."""

    def __init__(self, page, base_url: str):
        self.page = page
        self.base_url = base_url

    def open(self, url_hash: str = "") -> Playground:
        self.page.goto(self.base_url + "/" + url_hash)
        return self.ready()

    def reload(self) -> Playground:
        """A new page load, so a new server session, from the hash the page wrote."""
        self.page.reload()
        return self.ready()

    def ready(self) -> Playground:
        # Connected, the server accepted the link's config, and a frame of that config was drawn.
        self.page.wait_for_function(
            "() => { const s = window.__playgroundStats; return s && s.configs > 0 && s.drawnFrame > s.configFrame; }",
            timeout=20000,
        )
        return self

    def evaluate(self, script: str, argument=None):
        return self.page.evaluate(script, argument)

    def text(self, selector: str) -> str:
        return self.page.locator(selector).first.text_content()

    def epoch(self) -> int:
        return int(self.text("#iter-number").replace(",", ""))

    def train_loss(self) -> float:
        return float(self.text("#loss-train"))

    def map_pixels(self) -> str:
        return self.evaluate("() => document.querySelector('#heatmap canvas.map').toDataURL()")

    def frames(self) -> int:
        return self.evaluate("() => window.__playgroundStats.framesDrawn")

    def hash(self) -> dict:
        url_hash = self.evaluate("() => location.hash")
        return dict(pair.partition("=")[::2] for pair in url_hash.lstrip("#").split("&"))

    def wait_until(self, condition, timeout: float = 20.0, message: str = "the condition"):
        """tests.waiting.wait_until, letting the page run (and its events arrive) between polls."""
        return wait_until(
            condition, timeout, message, pause=lambda seconds: self.page.wait_for_timeout(seconds * 1000), interval=0.1
        )

    def wait_for_new_map(self, previous: str, timeout: float = 20.0) -> str:
        def new_map() -> str:
            pixels = self.map_pixels()
            return pixels if pixels != previous else ""

        return self.wait_until(new_map, timeout, "the output map to change")

    def count(self, selector: str) -> int:
        return self.page.locator(selector).count()


@pytest.fixture
def playground(page, live_server):
    yield Playground(page, live_server.url)
    assert page.problems == [], f"errors in the page: {page.problems}"


@pytest.fixture
def new_playground(browser, live_server):
    """Playgrounds in contexts of their own (a phone, a touch screen): new_playground(**context_options)."""
    contexts = []

    def make(**context_options) -> Playground:
        contexts.append(browser.new_context(**context_options))
        return Playground(contexts[-1].new_page(), live_server.url)

    yield make
    for context in contexts:
        context.close()
