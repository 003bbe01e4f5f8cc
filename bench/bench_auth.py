"""Authentication under attack: does timing leak user names, and do guessers stall the server?

    python bench/bench_auth.py [--requests 20] [--flood-seconds 8] [--baseline-ref 30feb44]

Real server processes with a users file of ``--hash-password`` hashes (the default PBKDF2
iteration count), on loopback, measured in one run:

(a) the median time of ``--requests`` requests with an unknown user name and of as many with a
    wrong password for a known user, interleaved; their ratio (1.0: names do not leak);
(b) ``GET /healthz`` p50 when idle, and while 4 concurrent clients flood the API with wrong
    passwords (target: under 20 ms).

The project runs twice: with failed-login throttling out of the way (limits raised so every
guess is hashed: what hashing off the event loop alone buys) and with its defaults (guessers get
429 after a few failures). The baseline is the project at ``--baseline-ref`` (default: the
commit before the hardening), extracted with ``git archive`` into a temporary directory and run
by the same interpreter. Targets are informational: the exit status is 0 unless something failed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp

from bench.servers import filters_server, free_port

BASE = "/api/dsio/filters/v1"
USER, PASSWORD = "bench", "bench-password"
FLOOD_CLIENTS = 4
PROBE_INTERVAL = 0.02
NO_THROTTLE = ["--auth-max-failures-per-user", "1000000000", "--auth-max-failures-per-address", "1000000000"]


def basic(name: str, password: str) -> dict[str, str]:
    return {"Authorization": aiohttp.encode_basic_auth(name, password)}


async def timed_status(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None
) -> tuple[float, int]:
    started = time.perf_counter()
    async with http.get(url, headers=headers) as response:
        await response.read()
        return time.perf_counter() - started, response.status


async def leak(http: aiohttp.ClientSession, base: str, requests: int) -> dict[str, float]:
    """Median seconds of unknown-user and wrong-password requests, interleaved."""
    url = base + BASE + "/openapi.yaml"
    unknown: list[float] = []
    wrong: list[float] = []
    for _ in range(requests):
        for name, samples in (("nobody-" + secrets.token_hex(4), unknown), (USER, wrong)):
            seconds, status = await timed_status(http, url, basic(name, secrets.token_hex(8)))
            if status != 401:
                raise RuntimeError(f"expected 401 for a bad login, got {status}")
            samples.append(seconds)
    return {"unknown": statistics.median(unknown), "wrong": statistics.median(wrong)}


async def healthz_times(
    http: aiohttp.ClientSession, base: str, stop: asyncio.Event, minimum: int = 30
) -> dict[str, float]:
    """p50, p95 and max seconds of /healthz probes started every PROBE_INTERVAL until ``stop``.

    Probes start at a fixed cadence, each on its own, as a load balancer's or kubelet's do; a
    back-to-back prober would take one slow sample per stall and many fast ones between stalls.
    """
    probes: list[asyncio.Task[tuple[float, int]]] = []
    while not stop.is_set() or len(probes) < minimum:
        probes.append(asyncio.create_task(timed_status(http, base + "/healthz")))
        await asyncio.sleep(PROBE_INTERVAL)
    results = await asyncio.gather(*probes)
    if any(status != 200 for _, status in results):
        raise RuntimeError(f"/healthz answered {sorted({status for _, status in results})}")
    samples = sorted(seconds for seconds, _ in results)
    return {"p50": statistics.median(samples), "p95": samples[int(0.95 * (len(samples) - 1))], "max": samples[-1]}


async def flood(base: str, seconds: float) -> dict[str, float]:
    """/healthz p50 while FLOOD_CLIENTS clients send wrong passwords as fast as answered."""
    url = base + BASE + "/openapi.yaml"
    statuses: dict[int, int] = {}
    stop = asyncio.Event()

    async def guesser(http: aiohttp.ClientSession) -> None:
        while not stop.is_set():
            _, status = await timed_status(http, url, basic(USER, secrets.token_hex(8)))
            statuses[status] = statuses.get(status, 0) + 1

    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=FLOOD_CLIENTS)) as http,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as prober,
    ):
        guessers = [asyncio.create_task(guesser(http)) for _ in range(FLOOD_CLIENTS)]
        asyncio.get_running_loop().call_later(seconds, stop.set)
        healthz = await healthz_times(prober, base, stop)
        await asyncio.gather(*guessers)
    return {
        **{f"healthz_{k}": v for k, v in healthz.items()},
        "guesses": float(sum(statuses.values())),
        **{f"status_{k}": float(v) for k, v in statuses.items()},
    }


async def measure(
    name: str, python: str, cwd: str, users_file: str, extra: list[str], args: argparse.Namespace, *, timing: bool
) -> dict[str, float]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = filters_server(
        name,
        port,
        "memory://",
        os.path.join(args.workdir, f"{name}.log"),
        *("--users-file", users_file, *extra),
        users=None,
        python=python,
        cwd=cwd,
    )
    server.start()
    try:
        async with aiohttp.ClientSession() as http:
            idle_stop = asyncio.Event()
            idle_stop.set()
            idle = await healthz_times(http, base, idle_stop, minimum=50)
            times = await leak(http, base, args.requests) if timing else {}
        flooded = await flood(base, args.flood_seconds)
        server.check_alive()
    finally:
        server.stop()
    return {"healthz_idle_p50": idle["p50"], **times, **flooded}


def extract(ref: str, into: str) -> str:
    """The project at ``ref`` as plain files (read-only on the repository: no worktree is added)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", ref], check=True, capture_output=True
    ).stdout
    target = os.path.join(into, "baseline")
    os.makedirs(target)
    with tempfile.TemporaryFile() as handle:
        handle.write(archive)
        handle.seek(0)
        with tarfile.open(fileobj=handle) as tar:
            tar.extractall(target, filter="data")
    return target


def report(name: str, result: dict[str, float]) -> None:
    answers = {k.removeprefix("status_"): int(v) for k, v in result.items() if k.startswith("status_")}
    if "unknown" in result:
        print(
            f"{name:<24} unknown user {result['unknown'] * 1000:6.1f} ms, "
            f"wrong password {result['wrong'] * 1000:6.1f} ms (medians): "
            f"ratio {result['unknown'] / result['wrong']:.2f} (target 0.8-1.25)"
        )
    print(
        f"{name:<24} /healthz idle p50 {result['healthz_idle_p50'] * 1000:.1f} ms; under {FLOOD_CLIENTS} guessing "
        f"clients p50 {result['healthz_p50'] * 1000:.1f} ms (target < 20), p95 {result['healthz_p95'] * 1000:.1f} ms, "
        f"max {result['healthz_max'] * 1000:.1f} ms; {int(result['guesses'])} guesses answered {answers}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20, help="requests of each kind for the timing comparison")
    parser.add_argument("--flood-seconds", type=float, default=8.0)
    parser.add_argument("--baseline-ref", default="30feb44", help="git ref of the baseline ('' for none)")
    args = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="filters-bench-auth-") as workdir:
        args.workdir = workdir
        hashed = subprocess.run(
            [python, "-m", "filters_server", "--hash-password", PASSWORD],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        users_file = os.path.join(workdir, "users.txt")
        Path(users_file).write_text(f"{USER}:{hashed}\n")
        print(
            f"PBKDF2 hash: {hashed.split('$')[0]}, {hashed.split('$')[1]} iterations; {args.requests} requests "
            f"of each kind; {FLOOD_CLIENTS} guessing clients for {args.flood_seconds:g} s; {os.cpu_count()} CPUs"
        )
        # (name, code, extra flags, time unknown vs wrong?): with its default throttling the project
        # answers 429 after a few guesses, so the timing comparison runs with throttling out of the way.
        runs = [("project (no throttle)", str(ROOT), NO_THROTTLE, True), ("project (defaults)", str(ROOT), [], False)]
        if args.baseline_ref:
            runs.insert(0, (f"baseline {args.baseline_ref}", extract(args.baseline_ref, workdir), [], True))
        results = {}
        for number, (name, cwd, extra, timing) in enumerate(runs):
            try:
                results[name] = asyncio.run(
                    measure(f"server-{number}", python, cwd, users_file, extra, args, timing=timing)
                )
            except Exception as exc:
                print(f"{name}: FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
                return 1
            report(name, results[name])
        base_name = f"baseline {args.baseline_ref}"
        if base_name in results:
            for name in results:
                if name != base_name:
                    flood_ratio = results[name]["healthz_p50"] / results[base_name]["healthz_p50"]
                    print(f"{name}: healthz p50 under flood = {flood_ratio:.3f}x the baseline's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
