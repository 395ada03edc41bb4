"""Chromium from the machine (Debian's ``chromium``) driven by Playwright, with the network fenced.

Playwright never downloads a browser here: it is pointed at the system executable. Every request
a page makes is checked; one that leaves loopback is aborted and counted, so a test can assert
that a page needs nothing from elsewhere. Console errors and page errors are collected too.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, Route, async_playwright

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root in CI
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium_path() -> str:
    path = (
        os.environ.get("TRACEABILITY_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )
    if not path:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("no chromium for the browser tests (make test installs Debian's chromium as root)")
        pytest.skip("no chromium on this machine (Debian: apt-get install chromium)")
    return path


@dataclass
class Watch:
    """What the pages of one browser context did that a test may want to refuse."""

    external_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)


@asynccontextmanager
async def browser_page() -> AsyncIterator[tuple[Page, Watch]]:
    """A fresh page in a fresh context, and what it was seen doing."""
    watch = Watch()
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport={"width": 1400, "height": 900})

        async def fence(route: Route) -> None:
            url = route.request.url
            host = urlsplit(url).hostname or ""
            if urlsplit(url).scheme in ("http", "https", "ws", "wss") and host not in LOOPBACK_HOSTS:
                watch.external_requests.append(url)
                await route.abort()
            else:
                await route.continue_()

        await context.route("**/*", fence)
        page = await context.new_page()
        page.on("console", lambda m: watch.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: watch.page_errors.append(str(e)))
        try:
            yield page, watch
        finally:
            await context.close()
            await browser.close()
