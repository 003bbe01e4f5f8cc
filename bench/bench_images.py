"""Benchmark the Images API against bare aiohttp, in one run, on loopback.

    python bench/bench_images.py [--quick]

Measures, for the filters server and for ``bench/baseline_server.py`` (bare
aiohttp handlers) started side by side as subprocesses:

(a) upload throughput and server peak RSS growth for 8 concurrent streamed
    uploads of a ~8 MB and a ~100 MB 16-bit noise PNG;
(b) ``GET /images/{id}/media`` throughput for the 8 MB image vs ``web.FileResponse``;
(c) ``GET /images/{id}`` requests per second vs a handler returning similar JSON
    (the baseline has no authentication; the project checks Basic auth on each request).

The machine is shared and noisy, so only ratios from the same run mean
anything: each measurement alternates project and baseline and keeps the best
of ``--repeats``. Each stage gets fresh server processes so RSS growth is
measured against a truly idle process. Targets are informational: the exit
status is 0 unless something failed.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import platform
import sys
import time
from collections.abc import Awaitable, Callable

import aiohttp

try:  # python -m bench.bench_images
    from .servers import RssWatch, ServerProcess, free_port, rss_mib, run_in_workdir
    from .workloads import MultipartFile, Result, delete_all, gets, side_for, uploads, write_noise_png
except ImportError:  # python bench/bench_images.py
    from servers import RssWatch, ServerProcess, free_port, rss_mib, run_in_workdir  # type: ignore[no-redef]
    from workloads import (MultipartFile, Result, delete_all, gets, side_for,  # type: ignore[no-redef]
                           uploads, write_noise_png)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
API = "/api/dsio/filters/v1"
USER, PASSWORD = "bench", "bench"
IMAGE_INFO = {  # filters_server.testing.sample_image_info(), inlined so the client imports nothing of the project
    "acquisitionInfo": {"binning": "Unbinned"},
    "lutInfo": {"gamma": 2.3, "slope": 65535.0, "offset": 0.0, "totalGrays": 4096,
                "minimumGray": 3612, "maximumGray": 418},
}


@dataclasses.dataclass(frozen=True)
class Plan:
    small_bytes: int
    large_bytes: int
    concurrency: int
    small_uploads_per_worker: int
    large_uploads_per_worker: int
    media_per_worker: int
    meta_per_worker: int
    repeats: int


FULL = Plan(small_bytes=8_000_000, large_bytes=100_000_000, concurrency=8, small_uploads_per_worker=8,
            large_uploads_per_worker=1, media_per_worker=100, meta_per_worker=2000, repeats=3)
QUICK = Plan(small_bytes=8_000_000, large_bytes=24_000_000, concurrency=8, small_uploads_per_worker=1,
             large_uploads_per_worker=1, media_per_worker=10, meta_per_worker=300, repeats=1)


@dataclasses.dataclass
class Row:
    metric: str
    unit: str
    project: float
    baseline: float
    target: str
    passed: bool | None

    @property
    def ratio(self) -> float:
        return self.project / self.baseline if self.baseline else float("nan")


class Pair:
    """The project server and the baseline server, started fresh for one stage."""

    def __init__(self, workdir: str, stage: str, media_file: str, args: argparse.Namespace) -> None:
        self.storage = os.path.join(workdir, f"{stage}-project-storage")
        self.baseline_dir = os.path.join(workdir, f"{stage}-baseline-uploads")
        os.makedirs(self.baseline_dir)
        project_port, baseline_port = free_port(), free_port()
        self.project_url = f"http://127.0.0.1:{project_port}"
        self.baseline_url = f"http://127.0.0.1:{baseline_port}"
        env = {**os.environ, "FILTERS_LOG_LEVEL": args.project_log_level}
        self.project = ServerProcess(
            "filters server",
            [sys.executable, "-m", "filters_server", "--storage", f"file:{self.storage}",
             "--users", f"{USER}:{PASSWORD}", "--port", str(project_port), "--host", "127.0.0.1"],
            f"{self.project_url}/healthz", cwd=REPO, env=env,
            log_path=os.path.join(workdir, f"{stage}-project.log"))
        baseline_argv = [sys.executable, os.path.join(HERE, "baseline_server.py"), "--port", str(baseline_port),
                         "--dir", self.baseline_dir, "--media", media_file]
        if not args.baseline_no_fsync:
            baseline_argv.append("--fsync")
        self.baseline = ServerProcess("baseline server", baseline_argv, f"{self.baseline_url}/healthz",
                                      cwd=REPO, log_path=os.path.join(workdir, f"{stage}-baseline.log"))
        self.auth = aiohttp.encode_basic_auth(USER, PASSWORD)

    def start(self) -> None:
        self.project.start()
        self.baseline.start()
        time.sleep(0.5)  # let start-up garbage settle before "idle" RSS is read

    def stop(self) -> None:
        self.project.stop()
        self.baseline.stop()

    def check(self) -> None:
        self.project.check_alive()
        self.baseline.check_alive()


async def alternate(repeats: int, project: Callable[[], Awaitable[Result]],
                    baseline: Callable[[], Awaitable[Result]]) -> tuple[list[Result], list[Result]]:
    """Run both ``repeats`` times, swapping who goes first; all results of each."""
    results: dict[str, list[Result]] = {"project": [], "baseline": []}
    for repeat in range(repeats):
        order = [("project", project), ("baseline", baseline)]
        if repeat % 2:
            order.reverse()
        for name, run in order:
            results[name].append(await run())
    return results["project"], results["baseline"]


def speed_row(metric: str, unit: str, speed: Callable[[Result], float], project: list[Result],
              baseline: list[Result], min_ratio: float) -> Row:
    """Best of the repeats: noise on a shared machine only ever slows a run down."""
    best_project, best_baseline = max(map(speed, project)), max(map(speed, baseline))
    return Row(metric, unit, best_project, best_baseline, f">= {min_ratio}x",
               best_project / best_baseline >= min_ratio)


def cpu_row(metric: str, unit: str, cost: Callable[[Result], float], project: list[Result],
            baseline: list[Result]) -> Row:
    """Least server CPU per unit of work over the repeats (informational, lower is better)."""
    return Row(metric, unit, min(map(cost, project)), min(map(cost, baseline)), "-", None)


async def upload_stage(workdir: str, label: str, png: str, per_worker: int, plan: Plan,
                       args: argparse.Namespace, rows: list[Row], media_file: str) -> None:
    pair = Pair(workdir, f"upload-{label}", media_file, args)
    body = MultipartFile(png, IMAGE_INFO)
    growth = {"project": 0.0, "baseline": 0.0}
    try:
        pair.start()
        # Growth is measured from the fresh process, so memory kept after an earlier repeat still counts.
        idle = {"project": rss_mib(pair.project.pid), "baseline": rss_mib(pair.baseline.pid)}

        async def project() -> Result:
            with RssWatch(pair.project.pid) as watch:
                result = await uploads(f"{pair.project_url}{API}/images", body, concurrency=plan.concurrency,
                                       per_worker=per_worker, auth=pair.auth, server_pid=pair.project.pid)
            growth["project"] = max(growth["project"], watch.peak_mib - idle["project"])
            await delete_all([f"{pair.project_url}{API}/images/{answer['id']}" for answer in result.responses],
                             pair.auth)
            return result

        async def baseline() -> Result:
            with RssWatch(pair.baseline.pid) as watch:
                result = await uploads(f"{pair.baseline_url}/upload", body, concurrency=plan.concurrency,
                                       per_worker=per_worker, auth=None, server_pid=pair.baseline.pid)
            growth["baseline"] = max(growth["baseline"], watch.peak_mib - idle["baseline"])
            await asyncio.to_thread(_empty_dir, pair.baseline_dir)
            return result

        project_runs, baseline_runs = await alternate(plan.repeats, project, baseline)
        pair.check()
    finally:
        pair.stop()
    rows.append(speed_row(f"upload {label} x{plan.concurrency} ({plan.concurrency * per_worker} uploads)",
                          "MB/s", lambda r: r.mb_per_s, project_runs, baseline_runs, 0.5))
    rows.append(Row(f"  peak RSS growth, upload {label}", "MiB", growth["project"], growth["baseline"],
                    "< 64 MiB", growth["project"] < 64))
    rows.append(cpu_row(f"  server CPU, upload {label}", "s/GB", lambda r: r.cpu_s_per_gb,
                        project_runs, baseline_runs))


async def read_stage(workdir: str, small_png: str, small_size: int, plan: Plan, args: argparse.Namespace,
                     rows: list[Row]) -> None:
    pair = Pair(workdir, "reads", small_png, args)
    try:
        pair.start()
        stored = await uploads(f"{pair.project_url}{API}/images", MultipartFile(small_png, IMAGE_INFO),
                               concurrency=1, per_worker=1, auth=pair.auth)
        image_url = f"{pair.project_url}{API}/images/{stored.responses[0]['id']}"
        c, p, b = plan.concurrency, pair.project.pid, pair.baseline.pid

        media_runs = await alternate(
            plan.repeats,
            lambda: gets([image_url + "/media"], concurrency=c, per_worker=plan.media_per_worker,
                         auth=pair.auth, expect_bytes=small_size, warmup=2, server_pid=p),
            lambda: gets([pair.baseline_url + "/media"], concurrency=c, per_worker=plan.media_per_worker,
                         auth=None, expect_bytes=small_size, warmup=2, server_pid=b))
        meta_runs = await alternate(
            plan.repeats,
            lambda: gets([image_url], concurrency=c, per_worker=plan.meta_per_worker, auth=pair.auth,
                         warmup=20, server_pid=p),
            lambda: gets([pair.baseline_url + "/meta"], concurrency=c, per_worker=plan.meta_per_worker,
                         auth=None, warmup=20, server_pid=b))
        pair.check()
    finally:
        pair.stop()
    media_label = f"{small_size / 1e6:.0f} MB"
    rows.append(speed_row(f"GET media {media_label} x{c} ({c * plan.media_per_worker} req)", "MB/s",
                          lambda r: r.mb_per_s, *media_runs, 0.8))
    rows.append(cpu_row(f"  server CPU, GET media {media_label}", "s/GB", lambda r: r.cpu_s_per_gb, *media_runs))
    rows.append(speed_row(f"GET metadata x{c} ({c * plan.meta_per_worker} req)*", "req/s",
                          lambda r: r.per_s, *meta_runs, 0.5))
    rows.append(cpu_row("  server CPU, GET metadata", "ms/req", lambda r: r.cpu_ms_per_request, *meta_runs))


def _empty_dir(path: str) -> None:
    for name in os.listdir(path):
        os.unlink(os.path.join(path, name))


def print_table(rows: list[Row]) -> None:
    header = f"{'metric':<44} {'unit':<6} {'project':>10} {'baseline':>10} {'ratio':>7}  {'target':<9} result"
    print(header)
    print("-" * len(header))
    for row in rows:
        ratio = f"{row.ratio:.2f}x" if row.unit != "MiB" else "-"
        precision = 3 if row.unit == "ms/req" else 1
        verdict = "-" if row.passed is None else ("PASS" if row.passed else "MISS")
        print(f"{row.metric:<44} {row.unit:<6} {row.project:>10.{precision}f} {row.baseline:>10.{precision}f} {ratio:>7}  "
              f"{row.target:<9} {verdict}")
    print("\n* the baseline serves metadata without authentication; the project checks Basic auth "
          "(cached after the first request).")
    print("  RSS growth: peak VmRSS/VmHWM during the uploads over the fresh idle process; target applies to "
          "the project.")
    print("  Speeds are the best of the repeats; server CPU (user+system, all threads, lower is better) the "
          "least; ratio = project / baseline.")


async def run(plan: Plan, args: argparse.Namespace, workdir: str) -> list[Row]:
    small = os.path.join(workdir, "small.png")
    large = os.path.join(workdir, "large.png")
    started = time.perf_counter()
    small_size = await asyncio.to_thread(write_noise_png, small, *(side_for(plan.small_bytes),) * 2, 1)
    large_size = await asyncio.to_thread(write_noise_png, large, *(side_for(plan.large_bytes),) * 2, 2)
    print(f"images: {small_size / 1e6:.1f} MB and {large_size / 1e6:.1f} MB 16-bit noise PNG "
          f"({time.perf_counter() - started:.1f} s to generate)", flush=True)
    rows: list[Row] = []
    for label, png, size, per_worker in (
            (f"{small_size / 1e6:.0f} MB", small, small_size, plan.small_uploads_per_worker),
            (f"{large_size / 1e6:.0f} MB", large, large_size, plan.large_uploads_per_worker)):
        t0 = time.perf_counter()
        await upload_stage(workdir, label, png, per_worker, plan, args, rows, small)
        print(f"upload {label}: done in {time.perf_counter() - t0:.1f} s", flush=True)
    t0 = time.perf_counter()
    await read_stage(workdir, small, small_size, plan, args, rows)
    print(f"reads: done in {time.perf_counter() - t0:.1f} s", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Images API vs bare aiohttp, loopback, ratios from one run.")
    parser.add_argument("--quick", action="store_true", help="fewer and smaller requests (smoke run, < 60 s)")
    parser.add_argument("--repeats", type=int, default=None, help="runs per measurement, best kept")
    parser.add_argument("--project-log-level", default="warning",
                        help="FILTERS_LOG_LEVEL of the project server (info logs every request; the "
                             "baseline has no access log) [warning]")
    parser.add_argument("--baseline-no-fsync", action="store_true",
                        help="let the baseline skip fsync (the project's local storage always syncs)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (server logs) for inspection")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.repeats:
        plan = dataclasses.replace(plan, repeats=args.repeats)
    print(f"bench_images: {'quick' if args.quick else 'full'} mode, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, aiohttp {aiohttp.__version__}, best of {plan.repeats}; "
          f"project log level {args.project_log_level}; baseline fsync {'off' if args.baseline_no_fsync else 'on'}",
          flush=True)
    rows, seconds = run_in_workdir("bench_images", lambda workdir: run(plan, args, workdir), keep=args.keep)
    if rows is None:
        return 1
    print(f"\ntotal {seconds:.0f} s\n")
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
