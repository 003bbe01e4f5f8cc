"""The browser viewer (docs/viewer.md): static files from the package, public, with strict security headers.

The page itself holds no secret, so its files need no credentials; every API call it makes
carries the user's own. Everything it loads comes from this server (the Content-Security-Policy
allows nothing else, and no inline script or style), and it may not be framed. The files are
read once when the app is built: they are a few tens of KiB, and no request touches the disk.
"""

from __future__ import annotations

import hashlib
import importlib.resources
from collections.abc import Mapping

from aiohttp import web

from filters_server.api.auth import public
from filters_server.api.problems import problem_response

PACKAGE = "filters_server.api"
FOLDER = "viewer"

SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}

CONTENT_TYPES: Mapping[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


class ViewerFiles:
    """The viewer's files by name, with content type and ETag, loaded from the package once."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str, str]] = {}
        for entry in importlib.resources.files(PACKAGE).joinpath(FOLDER).iterdir():
            suffix = "." + entry.name.rpartition(".")[2]
            if entry.is_file() and suffix in CONTENT_TYPES:
                body = entry.read_bytes()
                etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
                self.files[entry.name] = (body, CONTENT_TYPES[suffix], etag)

    def serve(self, request: web.Request, name: str) -> web.Response:
        found = self.files.get(name)
        if found is None:
            return problem_response(404, "The viewer has no file of this name.", headers=SECURITY_HEADERS)
        body, content_type, etag = found
        headers = {"ETag": etag, "Cache-Control": "no-cache", **SECURITY_HEADERS}
        if etag in (tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")):
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, headers={"Content-Type": content_type, **headers})


def add_viewer_routes(app: web.Application, base: str) -> None:
    files = ViewerFiles()

    @public
    async def redirect(request: web.Request) -> web.Response:
        """``.../viewer`` -> ``.../viewer/``, so the page's relative URLs resolve inside the folder."""
        return web.Response(status=301, headers={"Location": request.path + "/", **SECURITY_HEADERS})

    @public
    async def index(request: web.Request) -> web.Response:
        return files.serve(request, "index.html")

    @public
    async def asset(request: web.Request) -> web.Response:
        return files.serve(request, request.match_info["name"])  # any other name: 404, with the headers too

    app.router.add_get(base + "/viewer", redirect)
    app.router.add_get(base + "/viewer/", index)
    app.router.add_get(base + "/viewer/{name:.+}", asset)
