"""The API's documentation pages work offline: no external URL, every asset served by the API itself."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from traceability.exporter.devtools.embedded_pg import free_port
from traceability.lineage_api.app import create_app
from traceability.lineage_api.settings import Settings

# src="...", href="...", url: '...', spec-url="...": everything a page makes the browser load
REFERENCE = re.compile(r"""(?:\bsrc|\bhref|\bspec-url|\burl)\s*[=:]\s*["']([^"']+)["']""")


@pytest.fixture
async def docs_client() -> AsyncIterator[httpx.AsyncClient]:
    # the docs need no database: nothing listens on this port
    settings = Settings.resolve(db_url=f"postgresql://nobody@127.0.0.1:{free_port()}/none", run_deriver=False)
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client,
    ):
        yield client


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_load_nothing_from_outside(docs_client: httpx.AsyncClient, page: str) -> None:
    response = await docs_client.get(page)
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    html = response.text
    assert not re.search(r"(https?:)?//[a-z0-9]", html.replace("window.location.origin", "")), html
    references = REFERENCE.findall(html)
    assert any(ref.endswith(".js") for ref in references), references
    for ref in references:
        assert ref.startswith("/"), f"{page} references {ref!r}, not a path of this server"
        asset = await docs_client.get(ref)
        assert asset.status_code == 200, f"{page} references {ref}: {asset.status_code}"
        assert asset.content, ref
    # the script the page runs is the real bundle, not an error page
    script = next(ref for ref in references if ref.endswith(".js"))
    body = (await docs_client.get(script)).text
    assert len(body) > 100_000 and ("SwaggerUIBundle" in body or "Redoc" in body)


async def test_root_is_the_web_ui_and_says_when_the_database_is_down(docs_client: httpx.AsyncClient) -> None:
    response = await docs_client.get("/")  # the UI's sessions list; nothing listens on the database port
    assert response.status_code == 503 and "text/html" in response.headers["content-type"]
    assert "<h1>Unavailable</h1>" in response.text and 'href="/docs"' in response.text
