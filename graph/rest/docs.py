"""Swagger UI at `/docs` for `/openapi.json`.

The assets are served from the `swagger-ui-bundle` package when it is installed (no network needed);
without it the page loads them from a public CDN, and says so.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

CDN = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5"

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title}</title>
  <link rel="stylesheet" href="{assets}/swagger-ui.css">
  <style>body {{ margin: 0; }} .ff-note {{ font: 13px sans-serif; padding: 6px 12px; background: #fff4d6; }}</style>
</head>
<body>
  {note}
  <div id="swagger-ui"></div>
  <script src="{assets}/swagger-ui-bundle.js"></script>
  <script src="{assets}/swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({{
      url: {openapi_url!r}, dom_id: "#swagger-ui", deepLinking: true,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "StandaloneLayout",
      requestInterceptor: (req) => {{
        const org = localStorage.getItem("footfall.org");
        if (org && !req.headers["X-Footfall-Org"]) req.headers["X-Footfall-Org"] = org;
        return req;
      }},
    }});
  </script>
</body>
</html>
"""


def local_assets_dir() -> str | None:
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return None
    return str(swagger_ui_path)


def docs_routes(
    path: str = "/docs", openapi_url: str = "openapi.json", title: str = "Footfall API - Swagger UI"
) -> list[BaseRoute]:
    """The `/docs` page (and its assets under `/docs/static` when they are installed locally)."""
    assets_dir = local_assets_dir()
    if assets_dir:
        # Relative to `/docs`, so the page also works behind a path prefix.
        page = _PAGE.format(
            title=title, assets=path.rsplit("/", 1)[-1] + "/static", note="", openapi_url=openapi_url
        )
    else:
        note = (
            '<div class="ff-note">Swagger UI assets are loaded from a public CDN; '
            "install <code>swagger-ui-bundle</code> to serve them locally.</div>"
        )
        page = _PAGE.format(title=title, assets=CDN, note=note, openapi_url=openapi_url)

    async def docs(request: Request) -> HTMLResponse:
        return HTMLResponse(page)

    routes: list[BaseRoute] = [Route(path, docs, methods=["GET"], name="docs")]
    if assets_dir:
        routes.append(Mount(path + "/static", StaticFiles(directory=assets_dir), name="docs-static"))
    return routes
