"""The bare-aiohttp baseline the benchmark compares the filters server against.

Handlers doing the least work that answers the same request shapes:

* ``POST /upload`` streams every multipart part to a file with aiofiles (no
  PNG validation, no index, no auth); ``--fsync`` syncs the file like the
  project's local storage does, so the ratio measures software, not durability.
* ``POST /upload-inflate/{zlib_ng|isal}`` does the same and also inflates the
  PNG's IDAT stream once (the least a validating server must do: every IDAT byte
  inflated), with zlib-ng or ISA-L. Each 1 MiB batch is written and inflated at
  the same time on two executor threads. This is the physical floor of a
  validated upload; the JSON answer says how many bytes the IDAT inflated to.
* ``GET /media`` is ``web.FileResponse`` of one file (sendfile).
* ``GET /meta`` returns a JSON document shaped like the spec's ImageResource.

* ``GET /media/{n}`` serves the n-th ``--media`` file the same way (``/media`` is the first).

Run: ``python bench/baseline_server.py --port P --dir DIR --media FILE [--media FILE2] [--fsync]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import struct
import uuid
from types import ModuleType

import aiofiles
from aiohttp import web
from isal import isal_zlib
from zlib_ng import zlib_ng

CHUNK_SIZE = 256 * 1024  # the same read size as filters_server.api.multipart
BATCH_SIZE = 1024 * 1024  # the same hand-off size as filters_server.core.ingest's validator
INFLATERS: dict[str, ModuleType] = {"zlib_ng": zlib_ng, "isal": isal_zlib}


class IdatInflater:
    """Walks a PNG's chunks as bytes arrive and inflates the IDAT payloads; checks nothing else."""

    def __init__(self, zlib_module: ModuleType) -> None:
        self._decompressor = zlib_module.decompressobj()
        self._header = bytearray()
        self._skip = 8  # the signature, then each chunk's CRC and non-IDAT body
        self._idat_left = 0
        self.inflated = 0

    def feed(self, data: bytes) -> None:
        view, pos, end = memoryview(data), 0, len(data)
        while pos < end:
            if self._idat_left:
                take = min(self._idat_left, end - pos)
                self.inflated += len(self._decompressor.decompress(view[pos : pos + take]))
                pos += take
                self._idat_left -= take
                if not self._idat_left:
                    self._skip = 4
            elif self._skip:
                take = min(self._skip, end - pos)
                pos += take
                self._skip -= take
            else:
                take = min(8 - len(self._header), end - pos)
                self._header += view[pos : pos + take]
                pos += take
                if len(self._header) == 8:
                    length, kind = struct.unpack(">I4s", self._header)
                    self._header.clear()
                    if kind == b"IDAT" and length:
                        self._idat_left = length
                    else:
                        self._skip = length + 4


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
            "lutInfo": {
                "gamma": 2.3,
                "slope": 65535.0,
                "offset": 0.0,
                "totalGrays": 4096,
                "minimumGray": 3612,
                "maximumGray": 418,
            },
        },
        "modalitySession": None,
    }


def build_app(upload_dir: str, media_paths: list[str], fsync: bool) -> web.Application:
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

    @routes.post("/upload-inflate/{inflater:zlib_ng|isal}")
    async def upload_inflate(request: web.Request) -> web.Response:
        zlib_module = INFLATERS[request.match_info["inflater"]]
        loop = asyncio.get_running_loop()
        reader = await request.multipart()
        total = inflated = 0
        while (part := await reader.next()) is not None:
            inflater = IdatInflater(zlib_module) if part.name == "imageMedia" else None  # type: ignore[union-attr]
            path = os.path.join(upload_dir, uuid.uuid4().hex)
            async with aiofiles.open(path, "wb") as out:
                batch: list[bytes] = []
                size = 0
                while True:
                    chunk = await part.read_chunk(CHUNK_SIZE)  # type: ignore[union-attr]
                    if chunk:
                        batch.append(chunk)
                        size += len(chunk)
                    if size and (size >= BATCH_SIZE or not chunk):
                        data = b"".join(batch)
                        total += len(data)
                        work = [out.write(data)]
                        if inflater is not None:
                            work.append(loop.run_in_executor(None, inflater.feed, data))
                        await asyncio.gather(*work)
                        batch, size = [], 0
                    if not chunk:
                        break
                if fsync:
                    await out.flush()
                    await out._loop.run_in_executor(None, os.fsync, out.fileno())  # type: ignore[attr-defined]
            if inflater is not None:
                inflated += inflater.inflated
        return web.json_response({"id": str(uuid.uuid4()), "size": total, "inflated": inflated}, status=201)

    @routes.get("/media")
    async def media(request: web.Request) -> web.FileResponse:
        return web.FileResponse(media_paths[0])

    @routes.get(r"/media/{index:\d+}")
    async def nth_media(request: web.Request) -> web.FileResponse:
        return web.FileResponse(media_paths[int(request.match_info["index"])])

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
    parser.add_argument("--media", required=True, action="append", help="a file GET /media/{n} serves (repeat)")
    parser.add_argument("--fsync", action="store_true", help="fsync each uploaded part")
    args = parser.parse_args()
    web.run_app(
        build_app(args.dir, args.media, args.fsync), host=args.host, port=args.port, print=None, access_log=None
    )


if __name__ == "__main__":
    main()
