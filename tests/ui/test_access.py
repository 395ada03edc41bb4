"""With reads protected, no UI page shows data without the token; the token never goes in a URL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.ui_seed import Seeded
from traceability.lineage_api.app import create_app
from traceability.lineage_api.settings import Settings
from traceability.lineage_api.ui.auth import COOKIE_NAME

TOKEN = "ui-test-token-7f3a9c"
BASE = "http://127.0.0.1:8053"


@pytest.fixture
async def protected(db_dsn: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("TRACEABILITY_API_TOKEN", TOKEN)
    monkeypatch.setenv("TRACEABILITY_AUTH_READS", "true")
    app = create_app(Settings.resolve(db_url=db_dsn, run_deriver=False))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c,
    ):
        yield c


async def test_pages_ask_for_the_token_and_show_nothing_without_it(
    protected: httpx.AsyncClient, seeded: Seeded
) -> None:
    for path in ("/", f"/sessions/{seeded.session_id}", f"/turns/{seeded.turn_ids[0]}", "/patterns", "/overview",
                 f"/turns/{seeded.turn_ids[0]}/waterfall", "/sessions/rows"):  # fmt: skip
        r = await protected.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
        assert seeded.session_id not in r.text
    api = await protected.get("/api/pattern-traceability/stats")
    assert api.status_code == 401  # the API keeps its own answer
    assert (await protected.get("/static/app.css")).status_code == 200  # assets show no data
    login = await protected.get("/login")
    assert login.status_code == 200 and 'type="password"' in login.text


async def test_a_wrong_token_is_refused_and_a_right_one_opens_the_pages(
    protected: httpx.AsyncClient, seeded: Seeded
) -> None:
    wrong = await protected.post("/login", data={"token": "guess", "next": "/"})
    assert wrong.status_code == 401 and COOKIE_NAME not in wrong.headers.get("set-cookie", "")
    right = await protected.post("/login", data={"token": TOKEN, "next": f"/sessions/{seeded.session_id}"})
    assert right.status_code == 303 and right.headers["location"] == f"/sessions/{seeded.session_id}"
    cookie = right.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower() and TOKEN not in cookie
    page = await protected.get(right.headers["location"])
    assert page.status_code == 200 and seeded.turn_ids[0] in page.text
    assert TOKEN not in page.text


async def test_sign_in_redirects_only_within_the_site(protected: httpx.AsyncClient) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        r = await protected.post("/login", data={"token": TOKEN, "next": target})
        assert r.status_code == 303 and r.headers["location"] == "/", target


async def test_a_cross_site_form_post_gets_no_write_from_the_cookie(
    protected: httpx.AsyncClient, seeded: Seeded
) -> None:
    await protected.post("/login", data={"token": TOKEN, "next": "/"})
    r = await protected.post("/patterns/anything/apply", headers={"origin": "https://evil.example"})
    assert r.status_code == 401
    same = await protected.post("/patterns/anything/apply", headers={"origin": BASE})
    assert same.status_code == 404 and "anything" in same.text, same.text[
        :300
    ]  # reached the handler: unknown pattern
