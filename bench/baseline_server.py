"""The bare-aiohttp baseline the benchmark compares the filters server against.

Three handlers doing the least work that answers the same request shapes:

* ``POST /upload`` streams every multipart part to a file with aiofiles (no
  PNG validation, no index, no auth); ``--fsync`` syncs the file like the
  project's local storage does, so the ratio measures software, not durability.
* ``GET /media`` is ``web.FileResponse`` of one file (sendfile).
* ``GET /meta`` returns a JSON document shaped like the spec's ImageResource.

Run: ``python bench/baseline_server.py --port P --dir DIR --media FILE [--fsync]``.
"""

from __future__ import annotations

import argparse
import os
import uuid

import aiofiles
from aiohttp import web

CHUNK_SIZE = 256 * 1024  # the same read size as filters_server.api.multipart


def resource_document(resource_id: str, origin: str) -> dict[str, object]:
    """A document of the size and shape of ``GET /images/{id}``, built per request."""
    return {
        "id": resource_id,
        "mediaType": "image/png",
        "url": f"{origin}/api/dsio/filters/v1/images/{resource_id}/media",
        "createdOn": "2024-01-01T00:00:00.000Z",
        "expires": "2024-01-01T08:00:00.000Z",
        "imageInfo": {
            "acquisitionInfo": {"binning": "Unbinned"},
            "lutInfo": {"gamma": 2.3, "slope": 65535.0, "offset": 0.0, "totalGrays": 4096,
                        "minimumGray": 3612, "maximumGray": 418},
        },
        "modalitySession": None,
    }


def build_app(upload_dir: str, media_path: str, fsync: bool) -> web.Application:
    routes = web.RouteTableDef()

    @routes.get("/healthz")
    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    @routes.post("/upload")
    async def upload(request: web.Request) -> web.Response:
        reader = await request.multipart()
        total = 0
        while (part := await reader.next()) is not None:
            path = os.path.join(upload_dir, uuid.uuid4().hex)
            async with aiofiles.open(path, "wb") as out:
                while chunk := await part.read_chunk(CHUNK_SIZE):  # type: ignore[union-attr]
                    total += len(chunk)
                    await out.write(chunk)
                if fsync:
                    await out.flush()
                    await out._loop.run_in_executor(None, os.fsync, out.fileno())  # type: ignore[attr-defined]
        return web.json_response({"id": str(uuid.uuid4()), "size": total}, status=201)

    @routes.get("/media")
    async def media(request: web.Request) -> web.FileResponse:
        return web.FileResponse(media_path)

    @routes.get("/meta")
    async def meta(request: web.Request) -> web.Response:
        return web.json_response(resource_document(str(uuid.uuid4()), str(request.url.origin())))

    app = web.Application()
    app.add_routes(routes)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True, help="where uploads are written")
    parser.add_argument("--media", required=True, help="the file GET /media serves")
    parser.add_argument("--fsync", action="store_true", help="fsync each uploaded part")
    args = parser.parse_args()
    web.run_app(build_app(args.dir, args.media, args.fsync), host=args.host, port=args.port,
                print=None, access_log=None)


if __name__ == "__main__":
    main()
