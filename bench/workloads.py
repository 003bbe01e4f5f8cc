"""Client side of the benchmark: streamed multipart uploads, GET loops (images come from ``corpus.py``).

Every workload runs ``concurrency`` worker tasks over one keep-alive
``aiohttp.ClientSession`` and reports what it moved and how long it took.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import os
import time
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import aiofiles
import aiohttp

try:
    from .servers import cpu_seconds
except ImportError:  # run as a script from bench/
    from servers import cpu_seconds  # type: ignore[no-redef]

if TYPE_CHECKING:  # typing.Self is Python 3.11+; annotations here are never evaluated
    from typing import Self

FILE_CHUNK = 1024 * 1024
TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=300)


@dataclasses.dataclass
class Result:
    requests: int
    payload_bytes: int
    seconds: float
    responses: list[Any] = dataclasses.field(default_factory=list)
    server_cpu_s: float = float("nan")  # CPU the server process used in the timed part
    latencies: list[float] = dataclasses.field(default_factory=list)  # seconds, one per request

    def latency_ms(self, quantile: float) -> float:
        """Nearest-rank quantile of the per-request latencies, in ms."""
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(quantile * len(ordered)) - 1))] * 1e3

    @property
    def mb_per_s(self) -> float:
        return self.payload_bytes / 1e6 / self.seconds

    @property
    def per_s(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_s_per_gb(self) -> float:
        return self.server_cpu_s / (self.payload_bytes / 1e9)

    @property
    def cpu_ms_per_request(self) -> float:
        return self.server_cpu_s * 1000 / self.requests


class ServerCpu:
    """CPU seconds a process spends inside a ``with`` block (0 pid: not measured)."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        self.seconds = float("nan")

    def __enter__(self) -> Self:
        self._start = cpu_seconds(self.pid) if self.pid else 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pid:
            self.seconds = cpu_seconds(self.pid) - self._start


class MultipartFile:
    """The body of ``POST /images``: imageInfo JSON, then the media part read from disk."""

    def __init__(self, path: str, image_info: dict[str, Any]) -> None:
        self.path = path
        self.size = os.path.getsize(path)
        self.boundary = uuid.uuid4().hex
        self.head = (
            f"--{self.boundary}\r\n"
            'Content-Disposition: form-data; name="imageInfo"\r\n'
            "Content-Type: application/json\r\n\r\n"
            f"{json.dumps(image_info)}\r\n"
            f"--{self.boundary}\r\n"
            'Content-Disposition: form-data; name="imageMedia"; filename="image.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()

    @property
    def content_length(self) -> int:
        return len(self.head) + self.size + len(self.tail)

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Content-Type": f"multipart/form-data; boundary={self.boundary}",
            "Content-Length": str(self.content_length),
        }

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body streamed from the file (1 MiB reads in a thread), never whole in memory."""
        yield self.head
        async with aiofiles.open(self.path, "rb") as handle:
            while chunk := await handle.read(FILE_CHUNK):
                yield chunk
        yield self.tail


def _session(concurrency: int, auth: str | None) -> aiohttp.ClientSession:
    """``auth``: an ``Authorization`` header value, or None."""
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    headers = {"Authorization": auth} if auth else None
    return aiohttp.ClientSession(connector=connector, headers=headers, timeout=TIMEOUT)


async def _fail(response: aiohttp.ClientResponse) -> None:
    body = (await response.read())[:500]
    raise RuntimeError(f"{response.method} {response.url} -> {response.status}: {body!r}")


async def uploads(
    url: str, body: MultipartFile, *, concurrency: int, per_worker: int, auth: str | None, server_pid: int | None = None
) -> Result:
    """``concurrency`` clients each POST the file ``per_worker`` times; JSON answers and latencies are kept."""
    answers: list[Any] = []
    latencies: list[float] = []

    async with _session(concurrency, auth) as session:

        async def worker() -> None:
            for _ in range(per_worker):
                sent = time.perf_counter()
                async with session.post(url, data=body.chunks(), headers=body.headers) as response:
                    if response.status != 201:
                        await _fail(response)
                    answers.append(await response.json())
                latencies.append(time.perf_counter() - sent)

        with ServerCpu(server_pid) as cpu:
            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            seconds = time.perf_counter() - started
    count = concurrency * per_worker
    return Result(count, count * body.size, seconds, answers, cpu.seconds, latencies)


async def gets(
    urls: list[str],
    *,
    concurrency: int,
    per_worker: int,
    auth: str | None,
    expect_bytes: int | None = None,
    warmup: int = 0,
    server_pid: int | None = None,
) -> Result:
    """``concurrency`` keep-alive clients each GET ``per_worker`` times (cycling ``urls``)."""
    async with _session(concurrency, auth) as session:

        async def fetch(url: str) -> int:
            async with session.get(url) as response:
                if response.status != 200:
                    await _fail(response)
                received = 0
                async for chunk in response.content.iter_any():
                    received += len(chunk)
            if expect_bytes is not None and received != expect_bytes:
                raise RuntimeError(f"GET {url}: {received} bytes, expected {expect_bytes}")
            return received

        async def worker(offset: int, count: int) -> int:
            total = 0
            for i in range(count):
                total += await fetch(urls[(offset + i) % len(urls)])
            return total

        # Warm-up opens every connection and warms caches outside the timed part.
        await asyncio.gather(*(worker(w, warmup) for w in range(concurrency)))
        with ServerCpu(server_pid) as cpu:
            started = time.perf_counter()
            totals = await asyncio.gather(*(worker(w, per_worker) for w in range(concurrency)))
            seconds = time.perf_counter() - started
    return Result(concurrency * per_worker, sum(totals), seconds, server_cpu_s=cpu.seconds)


async def delete_all(urls: list[str], auth: str | None, concurrency: int = 8) -> None:
    async with _session(concurrency, auth) as session:
        limit = asyncio.Semaphore(concurrency)

        async def delete(url: str) -> None:
            async with limit, session.delete(url) as response:
                if response.status not in (204, 404):
                    await _fail(response)

        await asyncio.gather(*(delete(url) for url in urls))
