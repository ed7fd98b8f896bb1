"""The dashboard: static HTML, CSS and ES modules from `app/dashboard/`, no build step, no CDN.

Its own Content-Security-Policy: scripts, styles and connections from this origin only, no inline
script or style, images from this origin or from blob: URLs (the charts, fetched with the JWT).
"""

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

DASHBOARD_URL = "/dashboard"
DASHBOARD_DIR = Path(__file__).resolve().parent.parent / "dashboard"
DASHBOARD_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


class DashboardFiles(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Content-Security-Policy"] = DASHBOARD_CONTENT_SECURITY_POLICY
        # Revalidated each time (ETag): a new release is picked up at once, unchanged files
        # cost a 304.
        response.headers["Cache-Control"] = "no-cache"
        return response


def mount_dashboard(app: FastAPI) -> None:
    """Serve the dashboard at /dashboard/ (and send /dashboard there)."""

    @app.get(DASHBOARD_URL, include_in_schema=False)
    async def dashboard_home() -> RedirectResponse:
        return RedirectResponse(f"{DASHBOARD_URL}/")

    app.mount(DASHBOARD_URL, DashboardFiles(directory=DASHBOARD_DIR, html=True), name="dashboard")
