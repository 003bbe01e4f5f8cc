"""The dsio-filters CLI's batch throughput against a bare aiohttp script doing the same requests.

    python bench/bench_client.py [--images 50] [--jobs 1,2,4,8] [--filter select] [--quick]

One run, one machine: a real ``filters-server`` (memory storage) on a loopback port; a folder of
sensor-like 2400x1708 16-bit PNGs (``phantoms.dental_image``, zlib level 6); for each ``--jobs``
level, the same batch through
  * ``dsio-filters batch IN OUT --filter F --jobs J`` (upload, filter, write the output, delete), and
  * a bare aiohttp script (this file's ``bare`` mode): the same four requests per file at the same
    concurrency, with nothing else (no retries, temp files, progress or report),
each as a fresh process, so both pay interpreter start-up. Each pair runs ``--repeat`` times in
alternating order and the best of each counts (the machine is shared: the best is the one least
disturbed). Printed: images/s of each, the ratio (target >= 0.9x), the CPU seconds each client
process used (the client's own cost, which load elsewhere barely moves), and the CLI's RSS when
its first output appeared, at the end, and at its peak (flat: the end no higher than the start
by more than noise).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.servers import filters_server, free_port, rss_mib

USER, PASSWORD = "bench", "bench-password"
BASE = "/api/dsio/filters/v1"
SHAPE = (1708, 2400)  # rows, columns: the sensor's 2400x1708
DISTINCT = 4  # distinct phantoms; the rest are copies (every upload is a new resource anyway)
FILTER_BODIES = {
    "unmap": None,
    "select": {"enhancementMode": "edgePro"},
    "supreme": {"task": "general", "sharpness": 70},
    "ae": {"task": "general", "sharpness": 70},
}
TARGET = 0.9


def make_inputs(folder: Path, count: int) -> int:
    """``count`` PNGs and a default ImageInfo; returns the bytes of one PNG."""
    import cv2  # the generator alone needs OpenCV and numpy

    from filters_server.imaging import phantoms

    folder.mkdir(parents=True)
    lut = phantoms.EXAMPLE_LUT
    sources = []
    for seed in range(min(DISTINCT, count)):
        pixels = phantoms.dental_image(SHAPE, lut, seed=seed + 1)
        ok, encoded = cv2.imencode(".png", pixels, [cv2.IMWRITE_PNG_COMPRESSION, 6])
        assert ok
        path = folder / f"xray-{seed:04d}.png"
        encoded.tofile(str(path))
        sources.append(path)
    for index in range(len(sources), count):
        shutil.copyfile(sources[index % len(sources)], folder / f"xray-{index:04d}.png")
    info = {
        "acquisitionInfo": {"binning": "Unbinned"},
        "lutInfo": {
            "gamma": lut.gamma,
            "slope": lut.slope,
            "offset": lut.offset,
            "totalGrays": lut.total_grays,
            "minimumGray": lut.minimum_gray,
            "maximumGray": lut.maximum_gray,
        },
    }
    (folder.parent / "default.json").write_text(json.dumps(info))
    return sources[0].stat().st_size


# --- the baseline: a bare aiohttp script ------------------------------------------------------------
async def bare(url: str, in_dir: Path, out_dir: Path, info_path: Path, name: str, jobs: int) -> None:
    import aiohttp

    info = info_path.read_text()
    body = FILTER_BODIES[name]
    headers = {"Authorization": aiohttp.encode_basic_auth(USER, PASSWORD)}
    queue: asyncio.Queue[Path | None] = asyncio.Queue()
    for path in sorted(in_dir.glob("*.png")):
        queue.put_nowait(path)
    for _ in range(jobs):
        queue.put_nowait(None)
    out_dir.mkdir(parents=True, exist_ok=True)

    async def worker(http: aiohttp.ClientSession) -> None:
        while (path := await queue.get()) is not None:
            with path.open("rb") as media:
                form = aiohttp.FormData()
                form.add_field("imageInfo", info, content_type="application/json")
                form.add_field("imageMedia", media, filename=path.name, content_type="image/png")
                async with http.post(f"{url}/images", data=form) as response:
                    assert response.status == 201, await response.text()
                    image_id = (await response.json())["id"]
            async with http.post(
                f"{url}/images/{image_id}/filters/{name}", json=body, headers={"Accept": "image/png"}
            ) as response:
                assert response.status == 200, await response.text()
                with (out_dir / f"{path.stem}.{name}.png").open("wb") as out:
                    async for chunk in response.content.iter_chunked(256 * 1024):
                        out.write(chunk)
            async with http.delete(f"{url}/images/{image_id}") as response:
                assert response.status == 204

    async with aiohttp.ClientSession(headers=headers, connector=aiohttp.TCPConnector(limit=jobs + 2)) as http:
        await asyncio.gather(*(worker(http) for _ in range(jobs)))


# --- measuring one process ---------------------------------------------------------------------------
class Run:
    """Wall time of a process, and its RSS when its first output appeared, at the end and at peak."""

    def __init__(self, argv: list[str], out_dir: Path, env: dict[str, str]) -> None:
        self.argv, self.out_dir, self.env = argv, out_dir, env
        self.seconds = 0.0
        self.cpu_seconds = 0.0
        self.rss_first = self.rss_end = self.rss_peak = 0.0

    def go(self) -> Run:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        proc = subprocess.Popen(self.argv, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        samples: list[tuple[bool, float]] = []  # (an output existed, RSS MiB)
        stop = threading.Event()

        def sample() -> None:
            seen = False
            while not stop.is_set():
                if not seen:
                    seen = self.out_dir.exists() and any(p.suffix == ".png" for p in self.out_dir.iterdir())
                rss = rss_mib(proc.pid)
                if rss:
                    samples.append((seen, rss))
                stop.wait(0.02)

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        _, stderr = proc.communicate()
        self.seconds = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)  # only reaped children: this process
        self.cpu_seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        stop.set()
        thread.join()
        if proc.returncode != 0:
            raise RuntimeError(f"{self.argv[:4]} exited {proc.returncode}: {stderr.decode()[-2000:]}")
        after_first = [rss for seen, rss in samples if seen]
        self.rss_first = after_first[0] if after_first else float("nan")
        self.rss_end = samples[-1][1] if samples else float("nan")
        self.rss_peak = max((rss for _, rss in samples), default=float("nan"))
        return self


def many_rss(work: Path, env: dict[str, str], count: int) -> None:
    """The CLI's RSS over many small files: flat means it does not grow with the number of files."""
    from filters_server.testing import png16

    folder = work / "many"
    folder.mkdir()
    media = png16(64, 48)
    for index in range(count):
        (folder / f"{index:06d}.png").write_bytes(media)
    out = work / "many-out"
    run = Run(
        [
            sys.executable,
            "-m",
            "filters_client.cli",
            "batch",
            str(folder),
            str(out),
            "--image-info",
            str(work / "default.json"),
            "--filter",
            "unmap",
            "--jobs",
            "8",
            "--progress",
            "lines",
        ],
        out,
        env,
    ).go()
    print(
        f"{count} small PNGs (64x48), unmap, jobs 8: {count / run.seconds:.0f} files/s; CLI RSS MiB "
        f"at the first output {run.rss_first:.1f}, at the end {run.rss_end:.1f}, peak {run.rss_peak:.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=50)
    parser.add_argument("--jobs", default="1,2,4,8", help="concurrency levels, comma-separated")
    parser.add_argument("--filter", default="select", choices=sorted(FILTER_BODIES))
    parser.add_argument("--repeat", type=int, default=2, help="runs of each side per level; the best counts")
    parser.add_argument("--many-files", type=int, default=5000, help="small files for the RSS-vs-count run")
    parser.add_argument("--quick", action="store_true", help="smoke run: 6 images, jobs 1 and 4, once")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, images)")
    sub = parser.add_subparsers(dest="mode")
    bare_mode = sub.add_parser("bare", help="(internal) the baseline script")
    for name in ("url", "in_dir", "out_dir", "info"):
        bare_mode.add_argument(name)
    bare_mode.add_argument("--filter-name", required=True)
    bare_mode.add_argument("--concurrency", type=int, required=True)
    args = parser.parse_args(argv)
    if args.mode == "bare":
        asyncio.run(
            bare(args.url, Path(args.in_dir), Path(args.out_dir), Path(args.info), args.filter_name, args.concurrency)
        )
        return 0

    images = 6 if args.quick else args.images
    levels = [1, 4] if args.quick else [int(j) for j in args.jobs.split(",")]
    repeat = 1 if args.quick else max(1, args.repeat)
    work = Path(tempfile.mkdtemp(prefix="filters-bench-client-"))
    try:
        in_dir = work / "in"
        png_bytes = make_inputs(in_dir, images)
        port = free_port()
        url = f"http://127.0.0.1:{port}{BASE}"
        server = filters_server(
            "filters-server",
            port,
            "memory://",
            str(work / "server.log"),
            "--queue-depth",
            str(2 * max(levels)),  # no 503s: both sides would have to retry
            users=f"{USER}:{PASSWORD}",
        )
        server.start()
        env = {**os.environ, "DSIO_FILTERS_URL": url, "DSIO_FILTERS_USER": USER, "DSIO_FILTERS_PASSWORD": PASSWORD}
        print(
            f"{images} x 2400x1708 16-bit PNG ({png_bytes / 1e6:.1f} MB each, zlib 6), filter {args.filter}, "
            f"memory storage, best of {repeat}, load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
        )
        print(
            f"{'jobs':>4}{'CLI img/s':>11}{'bare img/s':>12}{'ratio':>8}{'target':>8}{'CPU s CLI/bare':>16}"
            f"{'CLI RSS MiB first/end/peak':>30}{'bare RSS end':>14}"
        )
        worst = float("inf")
        try:
            for index, jobs in enumerate(levels):
                cli_out, bare_out = work / f"cli-{jobs}", work / f"bare-{jobs}"
                clis, bases = [], []
                for attempt in range(repeat):
                    cli = Run(
                        [
                            sys.executable,
                            "-m",
                            "filters_client.cli",
                            "batch",
                            str(in_dir),
                            str(cli_out),
                            "--image-info",
                            str(work / "default.json"),
                            "--filter",
                            args.filter,
                            "--name",
                            "{stem}.{filter}.{ext}",
                            "--jobs",
                            str(jobs),
                            "--progress",
                            "lines",
                        ],
                        cli_out,
                        env,
                    )
                    base = Run(
                        [
                            sys.executable,
                            __file__,
                            "bare",
                            url,
                            str(in_dir),
                            str(bare_out),
                            str(work / "default.json"),
                            "--filter-name",
                            args.filter,
                            "--concurrency",
                            str(jobs),
                        ],
                        bare_out,
                        env,
                    )
                    for run in (cli, base) if (index + attempt) % 2 == 0 else (base, cli):
                        run.go()
                        server.check_alive()
                    same = all((cli_out / p.name).read_bytes() == p.read_bytes() for p in list(bare_out.iterdir())[:3])
                    if not same or len(list(cli_out.iterdir())) != images:
                        raise RuntimeError("the CLI's outputs differ from the bare script's")
                    shutil.rmtree(cli_out)
                    shutil.rmtree(bare_out)
                    clis.append(cli)
                    bases.append(base)
                cli = min(clis, key=lambda r: r.seconds)
                base = min(bases, key=lambda r: r.seconds)
                cli_rate, bare_rate = images / cli.seconds, images / base.seconds
                ratio = cli_rate / bare_rate
                worst = min(worst, ratio)
                cpu = f"{min(r.cpu_seconds for r in clis):.1f} / {min(r.cpu_seconds for r in bases):.1f}"
                print(
                    f"{jobs:>4}{cli_rate:>11.2f}{bare_rate:>12.2f}{ratio:>7.2f}x{'>= ' + str(TARGET):>8}{cpu:>16}"
                    f"{cli.rss_first:>14.1f} /{cli.rss_end:>6.1f} /{cli.rss_peak:>6.1f}{base.rss_end:>14.1f}",
                    flush=True,
                )
            print(f"worst ratio {worst:.2f}x (target >= {TARGET}x): {'met' if worst >= TARGET else 'MISSED'}")
            many_rss(work, env, args.many_files if not args.quick else 200)
        finally:
            server.stop()
        return 0
    finally:
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
