"""The dashboard's files: served by the service under a strict CSP, nothing from elsewhere."""

import re

from app.api.dashboard import DASHBOARD_DIR
from tests.conftest import AppClient


async def test_every_dashboard_file_comes_with_a_csp_without_inline_or_eval(
    client: AppClient,
) -> None:
    files = [
        p.relative_to(DASHBOARD_DIR).as_posix() for p in DASHBOARD_DIR.rglob("*") if p.is_file()
    ]
    assert "index.html" in files and "js/main.js" in files
    for name in files:
        response = await client.get(f"/dashboard/{name}")
        assert response.status_code == 200, name
        policy = dict(
            directive.strip().split(" ", 1)
            for directive in response.headers["Content-Security-Policy"].split(";")
        )
        assert policy["default-src"] == "'none'", name
        assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'", name
        assert "unsafe" not in response.headers["Content-Security-Policy"], name


async def test_the_page_loads_only_its_own_module_and_stylesheet(client: AppClient) -> None:
    page = (await client.get("/dashboard/")).text
    assert re.findall(r"<script\b[^>]*>", page) == ['<script type="module" src="js/main.js">']
    assert "<style" not in page and not re.search(r"\s(?:style|on[a-z]+)=", page)  # no inline
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", page)
