"""Real headless Chromium (Debian's chromium, driven by Playwright's sync API) against gunicorn.

One live server and one browser per test process (each pytest-xdist worker has its own server,
port, database and browser); a new browser context, so new cookies, for every test.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from questionnaire import create_app
from questionnaire.extensions import db

from ..conftest import IN_CI, unavailable
from ..servers import LiveServer, fresh_database, tail

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ACTION_TIMEOUT_MS = 10_000
NAVIGATION_TIMEOUT_MS = 15_000
# expect() retries its assertion up to this long (Playwright's default, 5 s, is tight on a busy
# 2-core machine); a passing assertion returns as soon as it holds.
expect.set_options(timeout=ACTION_TIMEOUT_MS)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item, so that fixtures can tell a failed test in teardown."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="module")
def live_app(live_server: LiveServer) -> Iterator[Flask]:
    """An app in this test process on the live server's database and keys, to seed it and check it."""
    app = create_app({**live_server.app_config(), "TESTING": True})
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """gunicorn on a free loopback port for this test process, with a fresh database of the pass
    being run: a SQLite file, or a new PostgreSQL database when TEST_DATABASE_URL is set."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    folder = tmp_path_factory.mktemp(f"live-{worker}")
    with fresh_database(folder, os.environ.get("TEST_DATABASE_URL")) as uri:
        server = LiveServer(folder, database_uri=uri, name=f"browser-{worker}")
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    pw = sync_playwright().start()
    try:
        yield pw
    finally:
        pw.stop()


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    """Debian's chromium, headless, launched once per test process."""
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        unavailable(
            f"Chromium is not installed at {CHROMIUM}: run `make browser` (scripts/install-browser) "
            "to install Debian's chromium for the real-browser tests"
        )
    try:
        chromium = playwright_instance.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=30_000
        )
    except Exception as exc:  # noqa: BLE001 - any launch failure is reported with its cause
        pytest.fail(f"Chromium at {CHROMIUM} is installed but did not start: {exc}" + (" (CI=true)" if IN_CI else ""))
    try:
        yield chromium
    finally:
        chromium.close()


def new_context(browser: Browser, javascript: bool) -> BrowserContext:
    context = browser.new_context(
        java_script_enabled=javascript, locale="en-GB", viewport={"width": 1000, "height": 800}
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    return context


def _page_fixture(
    request: pytest.FixtureRequest, browser: Browser, server: LiveServer, javascript: bool
) -> Iterator[Page]:
    context = new_context(browser, javascript)
    page = context.new_page()
    try:
        yield page
    finally:
        report: Any = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            try:
                body = page.locator("main").inner_text(timeout=2_000)[:1500]
            except Exception:  # noqa: BLE001 - diagnostics only
                body = "(could not read the page)"
            print(f"\n--- browser (JavaScript {'on' if javascript else 'off'}) was at {page.url}\n{body}")
            print(f"--- server log ({server.log_path}), last lines:\n" + tail(server.log_path, 30))
        context.close()


@pytest.fixture(params=[True, False], ids=["js", "no-js"])
def javascript(request: pytest.FixtureRequest) -> bool:
    """Every test that takes `page` runs twice: JavaScript on, JavaScript off."""
    return bool(request.param)


@pytest.fixture
def page(request: pytest.FixtureRequest, browser: Browser, live_server: LiveServer, javascript: bool) -> Iterator[Page]:
    """A page in a new context (no cookies), with JavaScript on or off as `javascript` says."""
    yield from _page_fixture(request, browser, live_server, javascript)


@pytest.fixture
def js_page(request: pytest.FixtureRequest, browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A page in a new context with JavaScript on, for what only JavaScript does."""
    yield from _page_fixture(request, browser, live_server, True)


@pytest.fixture
def nojs_page(request: pytest.FixtureRequest, browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A page in a new context with JavaScript off, for what only a browser without it does."""
    yield from _page_fixture(request, browser, live_server, False)
