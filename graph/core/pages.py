"""Swagger UI (`/docs`) and GraphiQL (`GET /graphql` from a browser), both from assets in the package.

Swagger UI's files come from the `swagger-ui-bundle` package, GraphiQL's (graphiql, react, react-dom, vendored
from npm with their licences) from `graph/static/graphiql`; the pages' own scripts are files too, so a
Content-Security-Policy of `script-src 'self'` holds. An offline store network gets working pages.
"""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

SWAGGER_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Footfall API - Swagger UI</title>
  <link rel="stylesheet" href="docs/static/swagger-ui.css">
</head>
<body data-openapi="openapi.json" style="margin: 0">
  <div id="swagger-ui"></div>
  <script src="docs/static/swagger-ui-bundle.js"></script>
  <script src="docs/static/swagger-ui-standalone-preset.js"></script>
  <script src="static/docs/init.js"></script>
</body>
</html>
"""

GRAPHIQL_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Footfall GraphQL - GraphiQL</title>
  <link rel="stylesheet" href="static/graphiql/graphiql.min.css">
  <style>body { margin: 0; height: 100vh; overflow: hidden; } #graphiql { height: 100vh; }</style>
</head>
<body>
  <div id="graphiql">Loading...</div>
  <script src="static/graphiql/react.production.min.js"></script>
  <script src="static/graphiql/react-dom.production.min.js"></script>
  <script src="static/graphiql/graphiql.min.js"></script>
  <script src="static/graphiql/init.js"></script>
</body>
</html>
"""


def asset_routes() -> list[BaseRoute]:
    """The pages' static files: public libraries, no data (the pages themselves need a login)."""
    return [
        Mount("/docs/static", StaticFiles(directory=str(swagger_ui_path)), name="docs-static"),
        Mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static"),
    ]
