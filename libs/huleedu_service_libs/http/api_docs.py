"""``/openapi.json`` and ``/docs``: the API document and Swagger UI, served without any CDN.

Swagger UI's scripts and styles come from the ``swagger-ui-py`` distribution (it ships the
upstream ``swagger-ui-dist`` files, 5.x, which render OpenAPI 3.1), so the page works on a school
network without internet access.
"""

from __future__ import annotations

import html
from importlib import resources
from typing import Any

from quart import Blueprint, Response, current_app, json
from quart_schema import hide, tag
from werkzeug.exceptions import NotFound

from huleedu_service_libs.http.openapi_document import document_media

OPENAPI_PATH = "/openapi.json"
DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"
# The only files the page needs; anything else under the package stays unserved.
_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
_ASSET_CACHE_SECONDS = 86_400

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title}</title>
  <link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
  <link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{assets}/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({{
      url: "{openapi}",
      dom_id: "#swagger-ui",
      deepLinking: true,
      docExpansion: "list",
      // No call to the public validator badge service: the page stays on this origin.
      validatorUrl: null,
    }});
  </script>
</body>
</html>
"""

_HTML_SCHEMA: dict[str, Any] = {"type": "string"}
_DOCUMENT_SCHEMA: dict[str, Any] = {"type": "object", "description": "An OpenAPI 3.1 document"}


def _read_asset(name: str) -> bytes:
    return resources.files("swagger_ui").joinpath("static", name).read_bytes()


def docs_blueprint(title: str) -> Blueprint:
    """The document, the page and its assets; each is built or read once, when first asked for."""
    blueprint = Blueprint("api_docs", __name__)
    page = _PAGE.format(title=html.escape(title), assets=ASSETS_PATH, openapi=OPENAPI_PATH)
    cache: dict[str, bytes] = {}

    @blueprint.get(OPENAPI_PATH)
    @tag(["operations"])
    @document_media("application/json", _DOCUMENT_SCHEMA, status=200, description="This document")
    async def openapi_document() -> Response:
        """The OpenAPI document of this API."""
        if "openapi.json" not in cache:
            schema = current_app.extensions["QUART_SCHEMA"].openapi_provider.schema()
            cache["openapi.json"] = json.dumps(schema).encode()
        return Response(cache["openapi.json"], content_type="application/json")

    @blueprint.get(DOCS_PATH)
    @tag(["operations"])
    @document_media("text/html", _HTML_SCHEMA, status=200, description="Swagger UI")
    async def api_docs_page() -> Response:
        """Interactive documentation of this API."""
        return Response(page, content_type="text/html; charset=utf-8")

    @blueprint.get(f"{ASSETS_PATH}/<name>")
    @hide
    async def api_docs_asset(name: str) -> Response:
        media_type = _ASSETS.get(name)
        if media_type is None:
            raise NotFound()
        if name not in cache:
            cache[name] = _read_asset(name)
        response = Response(cache[name], content_type=media_type)
        response.cache_control.max_age = _ASSET_CACHE_SECONDS
        response.cache_control.public = True
        return response

    return blueprint
