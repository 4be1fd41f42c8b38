"""Swagger UI over ``/v1/openapi.json``, self-contained: its assets come from the
``swagger-ui-bundle-v2`` wheel inside the package (no CDN), and the page carries the document
inline, so the browser needs no key to show it (the document describes the API, it holds no data;
"Authorize" takes a key for "Try it out")."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response
from swagger_ui_bundle import swagger_ui_path

# The files the page loads, relative to /v1/docs/ (so it works under an API Gateway stage too).
ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
}
CACHE = {"Cache-Control": "public, max-age=86400"}

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>storepulse API</title>
  <link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({spec: %s, dom_id: "#swagger-ui", deepLinking: true});
  </script>
</body>
</html>
"""


def page(document: dict[str, Any]) -> Response[str]:
    """The Swagger UI page holding ``document``."""
    # "</" would end the script element early.
    inline = json.dumps(document).replace("</", "<\\/")
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=PAGE % inline)


def asset(name: str) -> Response[str] | None:
    """One of the page's files, or ``None`` for any other name."""
    if name not in ASSETS:
        return None
    path = swagger_ui_path / name
    return Response(
        status_code=200, content_type=ASSETS[name], body=path.read_text(encoding="utf-8"), headers=CACHE
    )
