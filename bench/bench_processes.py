"""``--processes 1`` against ``--processes 2`` on one local-disk store: throughput and work per CPU-second.

Two workloads, each against the same server started with one and then two processes (so each
process count is its own baseline, in the same run): metadata GETs on keep-alive connections
(16 clients; connections are spread over the processes by the kernel), and cold filters (unmap
of a realistic 2400x1708 image, a fresh resource each, 4 clients). CPU is the user+system time of
every server process (the supervisor and its children) during the timed part, so "per CPU-second"
says what a second of CPU buys, and the throughput ratio says what the second core buys.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import corpus
from bench.servers import ServerProcess, cpu_seconds, filters_server, free_port
from bench.workloads import MultipartFile

API = "/api/dsio/filters/v1"
USER, PASSWORD = "bench", "bench"
AUTH = aiohttp.encode_basic_auth(USER, PASSWORD)


def server_tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its children (the --processes workers)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            children = [int(child) for child in handle.read().split()]
    except OSError:
        children = []
    return cpu_seconds(pid) + sum(cpu_seconds(child) for child in children)


def start(workdir: str, processes: int) -> tuple[ServerProcess, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = filters_server(
        f"filters server --processes {processes}",
        port,
        f"file:{workdir}/store-{processes}",
        f"{workdir}/server-{processes}.log",
        *("--processes", str(processes), "--workers", "2", "--queue-depth", "64", "--max-connections", "4096"),
        users=f"{USER}:{PASSWORD}",
        log_level="info",  # the access log on, as deployed
    )
    server.start()
    time.sleep(1.0)  # the children bind after the supervisor answers nothing itself: let all of them start
    return server, url


async def upload(session: aiohttp.ClientSession, url: str, image: corpus.CorpusImage) -> str:
    body = MultipartFile(image.path, image.image_info)
    async with session.post(f"{url}{API}/images", data=body.chunks(), headers=body.headers) as response:
        assert response.status == 201, await response.text()
        return str((await response.json())["id"])


async def metadata(url: str, resource: str, clients: int, per_client: int, pid: int) -> tuple[float, float]:
    """(requests per second, server CPU seconds) for keep-alive GET /images/{id}."""
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, headers={"Authorization": AUTH}) as session:

        async def worker(count: int) -> None:
            for _ in range(count):
                async with session.get(f"{url}{API}/images/{resource}") as response:
                    assert response.status == 200
                    await response.read()

        await asyncio.gather(*(worker(20) for _ in range(clients)))  # open every connection first
        cpu0, started = server_tree_cpu(pid), time.perf_counter()
        await asyncio.gather(*(worker(per_client) for _ in range(clients)))
        seconds, cpu = time.perf_counter() - started, server_tree_cpu(pid) - cpu0
    return clients * per_client / seconds, cpu


async def cold_filters(url: str, image: corpus.CorpusImage, clients: int, count: int, pid: int) -> tuple[float, float]:
    """(cold filters per second, server CPU seconds): unmap on ``count`` fresh resources."""
    async with aiohttp.ClientSession(headers={"Authorization": AUTH}) as session:
        resources = [await upload(session, url, image) for _ in range(count)]
        queue = list(resources)

        async def worker() -> None:
            while queue:
                resource = queue.pop()
                async with session.post(f"{url}{API}/images/{resource}/filters/unmap") as response:
                    assert response.status == 200, await response.text()
                    await response.read()

        cpu0, started = server_tree_cpu(pid), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        seconds, cpu = time.perf_counter() - started, server_tree_cpu(pid) - cpu0
    return count / seconds, cpu


async def measure(workdir: str, image: corpus.CorpusImage, processes: int, quick: bool) -> dict[str, float]:
    server, url = start(workdir, processes)
    try:
        async with aiohttp.ClientSession(headers={"Authorization": AUTH}) as session:
            resource = await upload(session, url, image)
        rps, rps_cpu = await metadata(url, resource, 16, 150 if quick else 600, server.pid)
        fps, fps_cpu = await cold_filters(url, image, 4, 8 if quick else 24, server.pid)
    finally:
        server.stop()
    total_get = 16 * (150 if quick else 600)
    total_filters = 8 if quick else 24
    return {"rps": rps, "rps_per_cpu": total_get / rps_cpu, "fps": fps, "fps_per_cpu": total_filters / fps_cpu}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests (about half a minute)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="filters-bench-processes-") as workdir:
        [image] = [i for i in corpus.build(workdir, binned_sizes=(False,)) if i.corpus == "realistic"]
        print(
            f"bench_processes: {os.cpu_count()} CPUs, realistic {image.label} ({image.size / 1e6:.2f} MB), "
            f"local-disk storage, access log on",
            flush=True,
        )
        results = {n: asyncio.run(measure(workdir, image, n, args.quick)) for n in (1, 2)}
    one, two = results[1], results[2]
    print(f"{'workload':<40}{'1 process':>12}{'2 processes':>14}{'x':>8}")
    print(
        f"{'GET /images/{id}, req/s (16 clients)':<40}{one['rps']:>12.0f}{two['rps']:>14.0f}{two['rps'] / one['rps']:>7.2f}x"
    )
    print(
        f"{'  requests per server CPU-second':<40}{one['rps_per_cpu']:>12.0f}{two['rps_per_cpu']:>14.0f}"
        f"{two['rps_per_cpu'] / one['rps_per_cpu']:>7.2f}x"
    )
    print(
        f"{'cold unmap 2400x1708, filters/s (4 clients)':<40}{one['fps']:>12.2f}{two['fps']:>14.2f}"
        f"{two['fps'] / one['fps']:>7.2f}x"
    )
    print(
        f"{'  filters per server CPU-second':<40}{one['fps_per_cpu']:>12.2f}{two['fps_per_cpu']:>14.2f}"
        f"{two['fps_per_cpu'] / one['fps_per_cpu']:>7.2f}x"
    )
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
