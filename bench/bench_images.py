"""Benchmark the Images API against bare aiohttp and the physical floor, on both corpora, in one run.

    python bench/bench_images.py [--quick] [--plots docs/img]

Every measurement runs on both corpora of ``bench/corpus.py`` (realistic: a noisy
sensor image written as libpng does by default; noise: incompressible uniform noise),
each at 2400x1708 and binned 1200x854:

(a) uploads: the project's ``POST /images`` (local-disk storage, default log level)
    against three bare aiohttp handlers of ``bench/baseline_server.py``: stream to disk;
    stream to disk and inflate the IDAT once with zlib-ng (the floor: a validated upload
    must inflate every IDAT byte); the same with ISA-L (what a faster inflater gives).
    Throughput (best of the repeats) and per-upload latency p50/p99 (all repeats
    pooled) at each concurrency; server CPU per GB; the project's peak RSS growth.
(b) reads with the access log on (the server's default, ``info``) and off
    (``warning``): ``GET /images/{id}`` against a bare JSON handler, and
    ``GET /images/{id}/media`` against a bare ``web.FileResponse`` of the same file.

The machine is shared and noisy, so only ratios from the same run mean anything: runs
alternate between the servers (rotating who goes first). Targets are informational:
the exit status is 0 unless something failed.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import platform
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import corpus
from bench.corpus import CorpusImage
from bench.servers import RssWatch, ServerProcess, baseline_server, filters_server, free_port, rss_mib, run_in_workdir
from bench.workloads import MultipartFile, Result, delete_all, gets, uploads

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
API = "/api/dsio/filters/v1"
USER, PASSWORD = "bench", "bench"
UPLOAD_TARGET = 0.9  # project / floor (zlib-ng)
META_TARGET = 0.5  # project / bare JSON handler
MEDIA_TARGET = 0.9  # project / bare FileResponse
# Upload targets in the order they are printed; the floor is the zlib-ng one.
UPLOADERS = ("project", "bare disk", "floor zlib-ng", "floor isal")
BASELINE_PATHS = {
    "bare disk": "/upload",
    "floor zlib-ng": "/upload-inflate/zlib_ng",
    "floor isal": "/upload-inflate/isal",
}


@dataclasses.dataclass(frozen=True)
class Plan:
    concurrencies: tuple[int, ...]
    upload_bytes: int  # bytes uploaded per run (per server, concurrency and image)
    latency_concurrencies: tuple[int, ...]
    media_per_worker: int
    meta_per_worker: int
    read_concurrency: int
    repeats: int


FULL = Plan(
    concurrencies=(1, 2, 4, 8),
    upload_bytes=120_000_000,
    latency_concurrencies=(1, 8),
    media_per_worker=30,
    meta_per_worker=800,
    read_concurrency=8,
    repeats=2,
)
QUICK = Plan(
    concurrencies=(1, 8),
    upload_bytes=25_000_000,
    latency_concurrencies=(1, 8),
    media_per_worker=8,
    meta_per_worker=200,
    read_concurrency=8,
    repeats=1,
)


@dataclasses.dataclass
class UploadCell:
    """All runs of one server at one concurrency on one image."""

    runs: list[Result] = dataclasses.field(default_factory=list)

    @property
    def mb_per_s(self) -> float:
        return max(r.mb_per_s for r in self.runs)

    @property
    def cpu_s_per_gb(self) -> float:
        return min(r.cpu_s_per_gb for r in self.runs)

    def latency_ms(self, quantile: float) -> float:
        pooled = Result(0, 0, 1.0, latencies=[t for r in self.runs for t in r.latencies])
        return pooled.latency_ms(quantile)


@dataclasses.dataclass
class UploadReport:
    image: CorpusImage
    cells: dict[tuple[str, int], UploadCell]
    rss_growth_mib: float

    def cpu_ratio(self, concurrency: int) -> float:
        """Server CPU per GB, project / floor (zlib-ng): steadier than speed on a loaded machine."""
        return self.cells["project", concurrency].cpu_s_per_gb / self.cells["floor zlib-ng", concurrency].cpu_s_per_gb

    def ratio(self, concurrency: int, floor: str = "floor zlib-ng") -> float:
        return self.cells["project", concurrency].mb_per_s / self.cells[floor, concurrency].mb_per_s


@dataclasses.dataclass
class ReadRow:
    metric: str
    unit: str
    project_info: float
    project_warning: float
    baseline: float
    target: float

    def ratio(self, level: str) -> float:
        return (self.project_info if level == "info" else self.project_warning) / self.baseline


def project_server(workdir: str, name: str, log_level: str) -> tuple[ServerProcess, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = filters_server(
        f"filters server ({name})",
        port,
        f"file:{os.path.join(workdir, name + '-storage')}",
        os.path.join(workdir, f"{name}.log"),
        users=f"{USER}:{PASSWORD}",
        log_level=log_level,
        cwd=REPO,
    )
    return server, url


def _empty_dir(path: str) -> None:
    for name in os.listdir(path):
        os.unlink(os.path.join(path, name))


async def upload_stage(workdir: str, image: CorpusImage, plan: Plan, args: argparse.Namespace) -> UploadReport:
    stage = f"upload-{image.corpus}-{image.width}"
    project, project_url = project_server(workdir, stage + "-project", "info")
    baseline, baseline_url, upload_dir = baseline_server(
        workdir, stage + "-baseline", [image.path], not args.baseline_no_fsync
    )
    auth = aiohttp.encode_basic_auth(USER, PASSWORD)
    body = MultipartFile(image.path, image.image_info)
    expected_inflated = image.height * (1 + 2 * image.width)
    cells: dict[tuple[str, int], UploadCell] = {}
    growth = 0.0
    try:
        project.start()
        baseline.start()
        idle = rss_mib(project.pid)  # growth counts from the fresh process, so retained memory shows

        async def run(name: str, concurrency: int) -> Result:
            nonlocal growth
            per_worker = max(1, round(plan.upload_bytes / image.size / concurrency))
            if name == "project":
                with RssWatch(project.pid) as watch:
                    result = await uploads(
                        f"{project_url}{API}/images",
                        body,
                        concurrency=concurrency,
                        per_worker=per_worker,
                        auth=auth,
                        server_pid=project.pid,
                    )
                growth = max(growth, watch.peak_mib - idle)
                await delete_all([f"{project_url}{API}/images/{a['id']}" for a in result.responses], auth)
                return result
            result = await uploads(
                baseline_url + BASELINE_PATHS[name],
                body,
                concurrency=concurrency,
                per_worker=per_worker,
                auth=None,
                server_pid=baseline.pid,
            )
            if name != "bare disk" and any(a["inflated"] != expected_inflated for a in result.responses):
                raise RuntimeError(
                    f"{name} inflated {result.responses[0]['inflated']} bytes, expected {expected_inflated}"
                )
            await asyncio.to_thread(_empty_dir, upload_dir)
            return result

        for name in UPLOADERS:  # warm-up: connections, imports, first-touch of storage dirs
            await run(name, 1)
        for concurrency in plan.concurrencies:
            order = list(UPLOADERS)
            for repeat in range(plan.repeats):
                for name in order[repeat % len(order) :] + order[: repeat % len(order)]:
                    cells.setdefault((name, concurrency), UploadCell()).runs.append(await run(name, concurrency))
        project.check_alive()
        baseline.check_alive()
    finally:
        project.stop()
        baseline.stop()
    return UploadReport(image, cells, growth)


async def alternate(repeats: int, runs: dict[str, Callable[[], Awaitable[Result]]]) -> dict[str, list[Result]]:
    """Run each ``repeats`` times, rotating who goes first; all results of each."""
    results: dict[str, list[Result]] = {name: [] for name in runs}
    names = list(runs)
    for repeat in range(repeats):
        for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
            results[name].append(await runs[name]())
    return results


async def read_stage(workdir: str, images: list[CorpusImage], plan: Plan, args: argparse.Namespace) -> list[ReadRow]:
    servers = {level: project_server(workdir, f"reads-project-{level}", level) for level in ("info", "warning")}
    baseline, baseline_url, _ = baseline_server(workdir, "reads-baseline", [i.path for i in images], False)
    auth = aiohttp.encode_basic_auth(USER, PASSWORD)
    c = plan.read_concurrency
    rows: list[ReadRow] = []
    try:
        for server, _ in servers.values():
            server.start()
        baseline.start()
        ids: dict[tuple[str, str], str] = {}
        for level, (_, url) in servers.items():
            for image in images:
                stored = await uploads(
                    f"{url}{API}/images",
                    MultipartFile(image.path, image.image_info),
                    concurrency=1,
                    per_worker=1,
                    auth=auth,
                )
                ids[level, image.path] = stored.responses[0]["id"]

        def project_gets(
            level: str, suffix: str, image: CorpusImage, per_worker: int, expect: int | None, warmup: int
        ) -> Callable[[], Awaitable[Result]]:
            server, url = servers[level]
            resource = f"{url}{API}/images/{ids[level, image.path]}{suffix}"
            return lambda: gets(
                [resource],
                concurrency=c,
                per_worker=per_worker,
                auth=auth,
                expect_bytes=expect,
                warmup=warmup,
                server_pid=server.pid,
            )

        for index, image in enumerate(images):
            media = await alternate(
                plan.repeats,
                {
                    "info": project_gets("info", "/media", image, plan.media_per_worker, image.size, 2),
                    "warning": project_gets("warning", "/media", image, plan.media_per_worker, image.size, 2),
                    "baseline": lambda index=index, image=image: gets(  # type: ignore[misc]
                        [f"{baseline_url}/media/{index}"],
                        concurrency=c,
                        per_worker=plan.media_per_worker,
                        auth=None,
                        expect_bytes=image.size,
                        warmup=2,
                        server_pid=baseline.pid,
                    ),
                },
            )
            rows.append(
                ReadRow(
                    f"GET media, {image.corpus} {image.label} ({image.size / 1e6:.1f} MB)",
                    "MB/s",
                    *(max(r.mb_per_s for r in media[k]) for k in ("info", "warning", "baseline")),
                    MEDIA_TARGET,
                )
            )
            rows.append(
                ReadRow(
                    "  server CPU per GB served",
                    "s/GB",
                    *(min(r.cpu_s_per_gb for r in media[k]) for k in ("info", "warning", "baseline")),
                    0.0,
                )
            )
        meta = await alternate(
            plan.repeats,
            {
                "info": project_gets("info", "", images[0], plan.meta_per_worker, None, 20),
                "warning": project_gets("warning", "", images[0], plan.meta_per_worker, None, 20),
                "baseline": lambda: gets(
                    [f"{baseline_url}/meta"],
                    concurrency=c,
                    per_worker=plan.meta_per_worker,
                    auth=None,
                    warmup=20,
                    server_pid=baseline.pid,
                ),
            },
        )
        rows.append(
            ReadRow(
                "GET /images/{id} (metadata)",
                "req/s",
                *(max(r.per_s for r in meta[k]) for k in ("info", "warning", "baseline")),
                META_TARGET,
            )
        )
        rows.append(
            ReadRow(
                "  server CPU per metadata request",
                "ms",
                *(min(r.cpu_ms_per_request for r in meta[k]) for k in ("info", "warning", "baseline")),
                0.0,
            )
        )
        for server, _ in servers.values():
            server.check_alive()
        baseline.check_alive()
    finally:
        for server, _ in servers.values():
            server.stop()
        baseline.stop()
    return rows


def verdict(ratio: float, target: float, at_least: bool = True) -> str:
    return "ok" if (ratio >= target if at_least else ratio <= target) else "MISS"


def print_uploads(report: UploadReport, plan: Plan) -> None:
    image = report.image
    print(
        f"\nuploads, {image.corpus} {image.label} ({image.size / 1e6:.2f} MB PNG), MB/s of PNG bytes "
        f"(best of {plan.repeats}); x floor = project / bare stream+inflate (zlib-ng), target >= {UPLOAD_TARGET}x"
    )
    print(
        f"{'conc':>4} {'project':>8} {'bare disk':>10} {'floor zng':>10} {'floor isal':>11} "
        f"{'x floor':>8} {'x isal':>7}      {'CPU x floor':>11} {'p50/p99 ms: project':>20} {'floor zng':>12}"
    )
    for concurrency in plan.concurrencies:
        speeds = [report.cells[name, concurrency].mb_per_s for name in UPLOADERS]
        ratio = report.ratio(concurrency)
        line = (
            f"{concurrency:>4} {speeds[0]:8.0f} {speeds[1]:10.0f} {speeds[2]:10.0f} {speeds[3]:11.0f} "
            f"{ratio:7.2f}x {report.ratio(concurrency, 'floor isal'):6.2f}x {verdict(ratio, UPLOAD_TARGET):<4}"
            f" {report.cpu_ratio(concurrency):10.2f}x"
        )
        if concurrency in plan.latency_concurrencies:
            project, floor = report.cells["project", concurrency], report.cells["floor zlib-ng", concurrency]
            line += (
                f" {project.latency_ms(0.5):9.0f} / {project.latency_ms(0.99):<7.0f}"
                f" {floor.latency_ms(0.5):5.0f} / {floor.latency_ms(0.99):<5.0f}"
            )
        print(line)
    top = max(plan.concurrencies)
    cpu = [report.cells[name, top].cpu_s_per_gb for name in UPLOADERS]
    print(
        f"server CPU s/GB at concurrency {top}: project {cpu[0]:.2f}, bare disk {cpu[1]:.2f}, "
        f"floor zlib-ng {cpu[2]:.2f}, floor isal {cpu[3]:.2f}; project peak RSS growth "
        f"{report.rss_growth_mib:.1f} MiB (target < 64)"
    )


def print_reads(rows: list[ReadRow], plan: Plan) -> None:
    print(
        f"\nreads, {plan.read_concurrency} concurrent keep-alive clients (best of {plan.repeats}); project at its "
        "default log level (info: access log on) and at --log-level warning; server CPU is the least of the repeats"
    )
    print(f"{'metric':<48} {'unit':<5} {'info':>8} {'warning':>8} {'bare':>8} {'x (info)':>9} {'x (warn)':>9}  target")
    for row in rows:
        if not row.target:
            print(
                f"{row.metric:<48} {row.unit:<5} {row.project_info:8.3f} {row.project_warning:8.3f} {row.baseline:8.3f}"
            )
            continue
        print(
            f"{row.metric:<48} {row.unit:<5} {row.project_info:8.0f} {row.project_warning:8.0f} {row.baseline:8.0f} "
            f"{row.ratio('info'):8.2f}x {row.ratio('warning'):8.2f}x  >= {row.target}x "
            f"{verdict(row.ratio('info'), row.target)} / {verdict(row.ratio('warning'), row.target)}"
        )
    print("the bare handlers check no credentials, export no metrics and log nothing.")


def summary(reports: list[UploadReport], reads: list[ReadRow]) -> dict[str, object]:
    """What the plots and a later reader need, as JSON."""
    return {
        "uploads": [
            {
                "corpus": r.image.corpus,
                "image": r.image.label,
                "size": r.image.size,
                "cells": {
                    f"{name}@{c}": {
                        "mb_per_s": cell.mb_per_s,
                        "p50_ms": cell.latency_ms(0.5),
                        "p99_ms": cell.latency_ms(0.99),
                        "cpu_s_per_gb": cell.cpu_s_per_gb,
                    }
                    for (name, c), cell in r.cells.items()
                },
                "rss_growth_mib": r.rss_growth_mib,
            }
            for r in reports
        ],
        "reads": [dataclasses.asdict(row) for row in reads],
    }


async def run(plan: Plan, args: argparse.Namespace, workdir: str) -> tuple[list[UploadReport], list[ReadRow]]:
    started = time.perf_counter()
    images = await asyncio.to_thread(corpus.build, workdir)
    print(f"corpus ({time.perf_counter() - started:.1f} s to generate):", flush=True)
    for image in images:
        print("  " + corpus.describe(image), flush=True)
    reports = []
    for image in images:
        t0 = time.perf_counter()
        reports.append(await upload_stage(workdir, image, plan, args))
        print(f"uploads {image.corpus} {image.label}: done in {time.perf_counter() - t0:.1f} s", flush=True)
    t0 = time.perf_counter()
    reads = await read_stage(workdir, [i for i in images if not i.binned], plan, args)
    print(f"reads: done in {time.perf_counter() - t0:.1f} s", flush=True)
    return reports, reads


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Images API vs bare aiohttp and the inflate floor, both corpora.")
    parser.add_argument("--quick", action="store_true", help="fewer requests and concurrencies (about a minute)")
    parser.add_argument("--repeats", type=int, default=None, help="runs per measurement")
    parser.add_argument(
        "--baseline-no-fsync",
        action="store_true",
        help="let the bare handlers skip fsync (the project's local storage always syncs)",
    )
    parser.add_argument("--plots", metavar="DIR", help="write bench-uploads.png there (matplotlib)")
    parser.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (server logs) for inspection")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.repeats:
        plan = dataclasses.replace(plan, repeats=args.repeats)
    print(
        f"bench_images: {'quick' if args.quick else 'full'} mode, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.2f}, Python {platform.python_version()}, aiohttp {aiohttp.__version__}; "
        f"bare handlers fsync {'off' if args.baseline_no_fsync else 'on'}",
        flush=True,
    )
    outcome, seconds = run_in_workdir("bench_images", lambda workdir: run(plan, args, workdir), keep=args.keep)
    if outcome is None:
        return 1
    reports, reads = outcome
    print(f"\ntotal {seconds:.0f} s, load average {os.getloadavg()[0]:.2f}")
    for report in reports:
        print_uploads(report, plan)
    print_reads(reads, plan)
    data = summary(reports, reads)
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=1))
    if args.plots:
        from bench import plots

        path = plots.upload_throughput(data, args.plots)
        print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
