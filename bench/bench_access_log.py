"""What the access log costs: server CPU per GET /images/{id} with the log on (INFO) and off (WARNING).

    python bench/bench_access_log.py [--requests 4000] [--repeats 3] [--baseline-ref 30feb44]

For the project (its audit log: structured records handed to a writer thread) and for the
baseline at ``--baseline-ref`` (aiohttp's default access logger, formatting and writing on the
event loop), each server is started once with ``--log-level info`` and once with ``warning``,
its stderr going to a file; 8 keep-alive clients GET one resource ``--requests`` times, the
four servers taking turns, ``--repeats`` rounds. Printed: the server process's CPU time per
request (all its threads; the lowest of the rounds) and requests per second (the best), and
each server's on/off CPU ratio (1.0: logging is free). CPU per request is the figure to trust on
a shared machine: requests per second move with everything else running there.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp

from filters_server.testing import png16, sample_image_info

from bench.bench_auth import extract
from bench.servers import ServerProcess, filters_server, free_port
from bench.workloads import gets

BASE = "/api/dsio/filters/v1"
AUTH = aiohttp.encode_basic_auth("bench", "bench")
CONCURRENCY = 8


async def start(name: str, cwd: str, level: str, workdir: str) -> tuple[ServerProcess, str]:
    """A server at ``level`` with one resource; (the process, the resource's URL)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = filters_server(name, port, "memory://", os.path.join(workdir, f"{name}.log"), log_level=level, cwd=cwd)
    server.start()
    form = aiohttp.FormData()
    form.add_field("imageInfo", json.dumps(sample_image_info()), content_type="application/json")
    form.add_field("imageMedia", png16(), filename="a.png", content_type="image/png")
    async with (
        aiohttp.ClientSession(headers={"Authorization": AUTH}) as http,
        http.post(base + BASE + "/images", data=form) as response,
    ):
        created = await response.json()
    return server, f"{base}{BASE}/images/{created['id']}"


async def run(servers: list[tuple[str, str]], args: argparse.Namespace) -> dict[tuple[str, str], tuple[float, float]]:
    """Every (server, level) started at once, measured in turns; (lowest CPU s/request, best req/s) of each."""
    started = {}
    try:
        for name, cwd in servers:
            for level in ("warning", "info"):
                started[name, level] = await start(f"{name.split()[0]}-{level}", cwd, level, args.workdir)
        best = {key: (float("inf"), 0.0) for key in started}
        for _ in range(args.repeats):
            for key, (server, url) in started.items():
                per_worker = args.requests // CONCURRENCY
                result = await gets(
                    [url], concurrency=CONCURRENCY, per_worker=per_worker, auth=AUTH, warmup=50, server_pid=server.pid
                )
                server.check_alive()
                cpu, rate = best[key]
                best[key] = min(cpu, result.server_cpu_s / result.requests), max(rate, result.requests / result.seconds)
        return best
    finally:
        for server, _ in started.values():
            server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline-ref", default="30feb44", help="git ref of the baseline ('' for none)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="filters-bench-log-") as workdir:
        args.workdir = workdir
        servers = [("project", str(ROOT))]
        if args.baseline_ref:
            servers.append((f"baseline {args.baseline_ref}", extract(args.baseline_ref, workdir)))
        print(
            f"GET /images/{{id}}: {args.requests} requests, {CONCURRENCY} clients, {args.repeats} rounds; "
            f"{os.cpu_count()} CPUs"
        )
        best = asyncio.run(run(servers, args))
        for name, _ in servers:
            (cpu_off, rate_off), (cpu_on, rate_on) = best[name, "warning"], best[name, "info"]
            print(
                f"{name:<18} log off {cpu_off * 1e6:5.0f} us CPU/request ({rate_off:5.0f} req/s), "
                f"access log on {cpu_on * 1e6:5.0f} us ({rate_on:5.0f} req/s): CPU on/off {cpu_on / cpu_off:.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
