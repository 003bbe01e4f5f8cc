"""Filter endpoints over HTTP, cold, against the codec floor, and where a cold request spends its time.

    python bench/bench_filters_http.py [--quick] [--runs 5] [--plots docs/img]

One run, one machine, both corpora of ``bench/corpus.py`` at 2400x1708:

* floor: decoding the stored PNG (``codecs.decode_png16``) plus encoding the decoded image
  with the server's own settings (``codecs.encode``), in this process;
* cold: the first request of a filter on a freshly uploaded resource (the server reads
  the stored PNG, decodes, filters, encodes, answers, then writes the result to its cache);
  p50 over ``--runs`` fresh resources; target <= 1.5x the floor;
* cached: the same request repeated (answered from the result cache); target <= 0.05x cold.
* bare transfer: a bare aiohttp ``web.FileResponse`` of the same bytes (bench/baseline_server.py),
  fetched by the same client right after the cached repeat: what sending the result costs by
  itself, the least a cached repeat can take.

Then, on the realistic image, the cold request taken apart: storage read and cache write
through the project's own local-disk backend, decode, each pipeline stage (the functions of
``imaging/pipeline.py`` and ``imaging/lut.py`` called one by one on the same image, checked to
give the server's output byte for byte) and encode, all timed in this process; send is
measured from outside (last byte minus response headers); the rest of the measured cold time
(HTTP, auth, resource lookup, thread hand-offs, queueing) is what remains.

Last, in a child process (not in ``--quick``): peak RSS of one supreme job (decode, filter,
encode) on a 10000x10000 image, from ``resource.getrusage``, with an address-space limit so
it cannot hurt the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp
import cv2
import numpy as np

from backends.local import LocalStorage
from filters_server.allocator import tune_allocator
from filters_server.imaging import (
    codecs,
    decode_png16,
    encode,
    filter_image,
    pipeline,
    run_filter,
)
from filters_server.imaging import lut as lutmod
from filters_server.imaging import params as P

from bench import corpus
from bench.corpus import CorpusImage
from bench.servers import baseline_server, cpu_seconds, filters_server, free_port, minor_faults

BASE = "/api/dsio/filters/v1"
AUTH = {"Authorization": aiohttp.encode_basic_auth("bench", "bench")}
COLD_TARGET = 1.5
CACHED_TARGET = 0.05
SPECS: list[tuple[str, str, dict[str, Any] | None, dict[str, Any]]] = [
    # label, endpoint, HTTP body, filter_image params
    ("unmap", "unmap", None, {}),
    ("select edgePro", "select", {"enhancementMode": "edgePro"}, {"mode": "edgePro"}),
    ("supreme general 70", "supreme", {"task": "general", "sharpness": 70}, {"task": "general", "sharpness": 70}),
    ("ae general 70", "ae", {"task": "general", "sharpness": 70}, {"task": "general", "sharpness": 70}),
]
MEMORY_SIDE = 10_000
MEMORY_LIMIT_BYTES = 12 << 30  # address-space cap of the memory child


def codec_floor_once(png: bytes) -> tuple[float, float]:
    """(wall ms, CPU ms of this process) of one decode + encode."""
    start, cpu = time.perf_counter(), time.process_time()
    encode(decode_png16(png), "image/png")
    return (time.perf_counter() - start) * 1e3, (time.process_time() - cpu) * 1e3


def libpng_floor_once(png: bytes) -> float:
    """Wall ms of one decode + encode by libpng alone, at the settings the server used before its own
    PNG codecs (the floor when the targets were set): printed beside the floor for continuity."""
    start = time.perf_counter()
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    cv2.imencode(".png", image, codecs.LIBPNG_PARAMS)
    return (time.perf_counter() - start) * 1e3


# --- over HTTP --------------------------------------------------------------------------------


async def upload(http: aiohttp.ClientSession, url: str, image: CorpusImage, png: bytes) -> str:
    form = aiohttp.FormData()
    form.add_field("imageInfo", json.dumps(image.image_info), content_type="application/json")
    form.add_field("imageMedia", png, filename="x.png", content_type="image/png")
    async with http.post(f"{url}{BASE}/images", data=form) as response:
        if response.status != 201:
            raise RuntimeError(f"upload -> {response.status}: {await response.text()}")
        return str((await response.json())["id"])


async def timed_post(
    http: aiohttp.ClientSession, url: str, body: dict[str, Any] | None, cache: str
) -> tuple[float, float]:
    """(total ms, ms from response headers to the last body byte)."""
    start = time.perf_counter()
    async with http.post(url, json=body) as response:
        headers_at = time.perf_counter()
        await response.read()
        if response.status != 200 or response.headers.get("X-Cache") != cache:
            raise RuntimeError(
                f"POST {url} -> {response.status}, X-Cache {response.headers.get('X-Cache')}, expected 200 and {cache}"
            )
    end = time.perf_counter()
    return (end - start) * 1e3, (end - headers_at) * 1e3


async def timed_get(http: aiohttp.ClientSession, url: str) -> float:
    """ms of a GET and its whole body."""
    start = time.perf_counter()
    async with http.get(url) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {url} -> {response.status}")
    return (time.perf_counter() - start) * 1e3


def write_outputs(images: list[CorpusImage], directory: str) -> list[str]:
    """Each filter's output for each corpus image, as the server answers it (the encoders are
    deterministic), written to ``directory``: what the bare transfer serves. In SPECS order per image."""
    paths = []
    for image in images:
        source = decode_png16(image.read())
        for index, (_, name, _, params) in enumerate(SPECS):
            path = os.path.join(directory, f"{image.corpus}-{index}.png")
            output = filter_image(name, source, corpus.LUT, binned=image.binned, params=params, media_type="image/png")
            Path(path).write_bytes(output)
            paths.append(path)
    return paths


async def measure_http(
    url: str, images: list[CorpusImage], runs: int, server_pid: int, jobs: dict[str, StagedJob], bare_url: str
) -> dict[str, dict[str, dict[str, float]]]:
    """Per corpus, per filter: p50 of cold ms, cold send ms, server CPU ms of the cold request, cached ms,
    bare transfer ms (``bare_url``/media/{n}, n as in :func:`write_outputs`); per corpus under "floor":
    p50 wall and CPU ms of the codec floor.

    Each cold request is followed by one in-process run of the floor and, on the realistic image, of
    the same job stage by stage (``jobs``), so all of them see the same load on a shared machine."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    async with aiohttp.ClientSession(headers=AUTH) as http:
        for image in images:
            png = image.read()
            warm = await upload(http, url, image, png)  # first use of this LUT builds its tables: untimed
            for _, name, body, _ in SPECS:
                await timed_post(http, f"{url}{BASE}/images/{warm}/filters/{name}", body, "miss")
            codec_floor_once(png)  # warm-up
            floor: dict[str, list[float]] = {"wall": [], "cpu": [], "libpng": []}
            samples: dict[str, dict[str, list[float]]] = {
                label: {"cold": [], "send": [], "cpu": [], "faults": [], "cached": [], "bare": []}
                for label, *_ in SPECS
            }
            resources = [warm]
            first = len(SPECS) * images.index(image)
            for _ in range(runs):
                for index, (label, name, body, _) in enumerate(SPECS):
                    resource = await upload(http, url, image, png)
                    resources.append(resource)
                    endpoint = f"{url}{BASE}/images/{resource}/filters/{name}"
                    cpu, faults = cpu_seconds(server_pid), minor_faults(server_pid)
                    cold, send = await timed_post(http, endpoint, body, "miss")
                    samples[label]["cpu"].append((cpu_seconds(server_pid) - cpu) * 1e3)
                    samples[label]["faults"].append(minor_faults(server_pid) - faults)
                    samples[label]["cold"].append(cold)
                    samples[label]["send"].append(send)
                    samples[label]["cached"].append((await timed_post(http, endpoint, body, "hit"))[0])
                    samples[label]["bare"].append(await timed_get(http, f"{bare_url}/media/{first + index}"))
                    # These block the client loop on purpose: nothing else is in flight.
                    wall, cpu_ms = codec_floor_once(png)
                    floor["wall"].append(wall)
                    floor["cpu"].append(cpu_ms)
                    floor["libpng"].append(libpng_floor_once(png))
                    if image.corpus == "realistic":
                        jobs[label].run_once()
            for resource in resources:
                async with http.delete(f"{url}{BASE}/images/{resource}"):
                    pass
            out[image.corpus] = {label: {k: statistics.median(v) for k, v in s.items()} for label, s in samples.items()}
            out[image.corpus]["floor"] = {k: statistics.median(v) for k, v in floor.items()}
    return out


# --- in process: the cold request taken apart -----------------------------------------------


Stages = list[tuple[str, Callable[[], Any]]]


def staged(name: str, image: np.ndarray, params: dict[str, Any], binned: bool) -> tuple[Stages, Callable[[], bytes]]:
    """The steps of ``filter_image`` as (stage, thunk) pairs, each feeding the next through a shared
    state, and a getter of the encoded result."""
    lut = corpus.LUT
    state: dict[str, Any] = {}

    def result() -> bytes:
        return bytes(state["png"])

    if name == "unmap":
        return [
            ("unmap table", lambda: state.update(out=lutmod.unmap_image(image, lut))),
            (
                "encode",
                lambda: state.update(png=encode(state["out"], "image/png", white=min(lut.total_grays - 1, 65535))),
            ),
        ], result
    if name == "select":
        profile, strength = P.SELECT_PROFILES[params["mode"]], 1.0
    else:
        table = P.SUPREME_PROFILES if name == "supreme" else P.AE_PROFILES
        profile, strength = table[params["task"]], params["sharpness"] / 100.0
    pitch = P.pitch_mm(binned)
    need_noise = profile.denoise > 0.0 or (strength != 0.0 and profile.coring > 0.0)

    def combine() -> None:
        e = state["e"]
        state["y"] = state["d"] if e is None else cv2.scaleAdd(e, strength, state["d"], dst=e)

    return [
        ("linearise", lambda: state.update(x=lutmod.linearise(image, lut))),
        (
            "noise estimate",
            lambda: state.update(noise=pipeline.estimate_noise(state["x"], pitch) if need_noise else 0.0),
        ),
        ("denoise", lambda: state.update(d=pipeline.denoise(state["x"], profile.denoise, state["noise"], pitch))),
        ("enhancement bands", lambda: state.update(e=pipeline.enhancement(state["d"], profile, state["noise"], pitch))),
        ("combine", combine),
        ("remap", lambda: state.update(out=lutmod.remap(state["y"], lut, source=image))),
        ("encode", lambda: state.update(png=encode(state["out"], "image/png"))),
    ], result


async def storage_ms(root: str, png: bytes, outputs: dict[str, bytes], runs: int) -> dict[str, float]:
    """p50 ms of reading ``png`` and of writing each output through the project's local-disk backend,
    in one event loop as the server does (a fresh loop per call would add ~100 ms of loop set-up)."""
    storage = LocalStorage(root)
    await storage.start()
    await storage.put_bytes("media", png)

    async def p50(make: Callable[[int], Any]) -> float:
        await make(-1)
        samples = []
        for run in range(runs):
            start = time.perf_counter()
            await make(run)
            samples.append(time.perf_counter() - start)
        return statistics.median(samples) * 1e3

    figures = {"storage read": await p50(lambda run: storage.get_bytes("media"))}
    for label, output in outputs.items():
        figures[label] = await p50(
            lambda run, label=label, output=output: storage.put_bytes(
                f"result-{label.replace(' ', '-')}-{run + 1}", output
            )
        )
    await storage.close()
    return figures


class StagedJob:
    """One filter's worker job (decode, stages, encode) timed stage by stage, one run at a time, so runs
    can be interleaved with the HTTP requests and see the same machine load."""

    def __init__(self, label: str, name: str, params: dict[str, Any], png: bytes, binned: bool) -> None:
        self.label, self.name, self.params, self.png, self.binned = label, name, params, png, binned
        self.times: dict[str, list[float]] = {}
        self.cpu: list[float] = []
        self.faults: list[int] = []
        self.whole: list[float] = []  # the job in one call in a pool thread, as the server runs it
        self._pool = ThreadPoolExecutor(1)
        self.output = b""
        self.run_once()  # warm-up, and the check that the stages are the server's
        expected = filter_image(
            name, decode_png16(png), corpus.LUT, binned=binned, params=params, media_type="image/png"
        )
        if self.output != expected:
            raise RuntimeError(f"{label}: the staged pipeline does not reproduce filter_image's output")
        self.times, self.cpu, self.faults, self.whole = {}, [], [], []

    def run_once(self) -> None:
        faults = minor_faults(os.getpid())
        cpu = time.process_time()
        start = time.perf_counter()
        image = decode_png16(self.png)
        self.times.setdefault("decode", []).append(time.perf_counter() - start)
        steps, result = staged(self.name, image, self.params, self.binned)
        for stage, thunk in steps:
            start = time.perf_counter()
            thunk()
            self.times.setdefault(stage, []).append(time.perf_counter() - start)
        self.cpu.append(time.process_time() - cpu)
        self.faults.append(minor_faults(os.getpid()) - faults)
        self.output = result()
        start = time.perf_counter()
        self._pool.submit(
            run_filter, self.name, self.png, corpus.LUT, binned=self.binned, params=self.params, media_type="image/png"
        ).result()
        self.whole.append(time.perf_counter() - start)

    def p50_ms(self) -> dict[str, float]:
        return {stage: statistics.median(samples) * 1e3 for stage, samples in self.times.items()}


def breakdown(jobs: dict[str, StagedJob], workdir: str, runs: int) -> dict[str, dict[str, float]]:
    """Per filter: p50 ms of storage read, decode, each stage, encode, cache write; CPU of the job."""
    png = next(iter(jobs.values())).png
    outputs = {label: job.output for label, job in jobs.items()}
    io_ms = asyncio.run(storage_ms(os.path.join(workdir, "breakdown-storage"), png, outputs, runs))
    return {
        label: {"storage read": io_ms["storage read"]}
        | job.p50_ms()
        | {
            "cache write (after the answer)": io_ms[label],
            "job CPU in process": statistics.median(job.cpu) * 1e3,
            "job faults in process": statistics.median(job.faults),
            "whole job in a pool thread": statistics.median(job.whole) * 1e3,
        }
        for label, job in jobs.items()
    }


# --- peak memory of one big job, in a child process --------------------------------------------


def memory_child(png_path: str) -> None:
    """Child: load the PNG bytes, then one supreme job as a worker runs it; print RSS figures as JSON."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    source = Path(png_path).read_bytes()
    before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open("/proc/self/status") as handle:
        rss_kib = next(int(line.split()[1]) for line in handle if line.startswith("VmRSS:"))
    start = time.perf_counter()
    image = decode_png16(source)
    output = filter_image(
        "supreme", image, corpus.LUT, binned=False, params={"task": "general", "sharpness": 70}, media_type="image/png"
    )
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "png_bytes": len(source),
                "output_bytes": len(output),
                "seconds": seconds,
                "rss_before_mib": rss_kib / 1024,
                "maxrss_before_mib": before_kib / 1024,
                "peak_mib": peak_kib / 1024,
                "pixels": int(image.size),
            }
        )
    )


def write_big_png(path: str, side: int) -> None:
    """A side x side realistic image: the 2400x1708 corpus image tiled (structure and noise throughout)."""
    tile = corpus.realistic_pixels()
    reps = (-(-side // tile.shape[0]), -(-side // tile.shape[1]))
    Path(path).write_bytes(encode(np.tile(tile, reps)[:side, :side], "image/png"))


def peak_memory(workdir: str, side: int) -> dict[str, float]:
    path = os.path.join(workdir, f"big-{side}.png")
    # Generated in its own child too, so the measured child's high-water mark is the job's alone.
    subprocess.run([sys.executable, __file__, "--write-big", path, "--side", str(side)], check=True, cwd=ROOT)
    done = subprocess.run(
        [sys.executable, __file__, "--memory-child", path], check=True, cwd=ROOT, capture_output=True, text=True
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# --- report -----------------------------------------------------------------------------------


def print_http(http: dict[str, dict[str, dict[str, float]]], images: list[CorpusImage], runs: int) -> None:
    for image in images:
        figures_of = dict(http[image.corpus])
        floor = figures_of.pop("floor")
        print(
            f"\n{image.corpus} {image.label} ({image.size / 1e6:.2f} MB PNG), local-disk storage, p50 of {runs}; "
            f"codec floor (decode + encode, in process, interleaved) {floor['wall']:.0f} ms, CPU {floor['cpu']:.0f} ms; "
            f"libpng alone {floor['libpng']:.0f} ms"
        )
        print(
            f"{'filter':<20}{'cold ms':>9}{'x floor':>9}  {'target':<10}{'cached ms':>10}{'x cold':>8}  {'target':<12}"
            f"{'server CPU ms':>14}{'x floor CPU':>12}{'x libpng floor':>15}{'bare ms':>9}{'cached x bare':>14}"
        )
        for label, figures in figures_of.items():
            cold, cached, cpu, bare = figures["cold"], figures["cached"], figures["cpu"], figures["bare"]
            ratio = cold / floor["wall"]
            print(
                f"{label:<20}{cold:9.0f}{ratio:8.2f}x  <= {COLD_TARGET}x {_ok(ratio <= COLD_TARGET):<4}"
                f"{cached:10.1f}{cached / cold:7.3f}x  <= {CACHED_TARGET}x {_ok(cached / cold <= CACHED_TARGET):<4}"
                f"{cpu:14.0f}{cpu / floor['cpu']:11.2f}x{cold / floor['libpng']:14.2f}x{bare:9.1f}{cached / bare:13.2f}x"
            )
    print("server CPU: user+system of the whole server process (10 ms ticks) during the cold request.")
    print(
        "bare: the same bytes from a bare aiohttp web.FileResponse, fetched by the same client after each cached "
        "repeat (sending the result alone: the least a cached repeat can take)."
    )
    print(
        "libpng floor: libpng's own decode and its encode at zlib 1, Huffman-only, Sub (the server's PNG codecs "
        "before imaging/png.py and imaging/png_decoder.py), for comparison with earlier runs; the target is "
        "against the floor, which uses the server's own codecs."
    )


def _ok(passed: bool) -> str:
    return "ok" if passed else "MISS"


def breakdown_rows(parts: dict[str, dict[str, float]], http: dict[str, dict[str, float]]) -> list[dict[str, Any]]:
    rows = []
    for label, stages in parts.items():
        in_answer = {
            k: v
            for k, v in stages.items()
            if k
            not in (
                "cache write (after the answer)",
                "job CPU in process",
                "job faults in process",
                "whole job in a pool thread",
            )
        }
        in_answer["send (outside)"] = http[label]["send"]
        rest = http[label]["cold"] - sum(in_answer.values())
        in_answer["rest: HTTP, auth, lookup, hand-offs"] = max(rest, 0.0)
        rows.append(
            {
                "label": label,
                "cold_ms": http[label]["cold"],
                "parts": in_answer,
                "cache_write_ms": stages["cache write (after the answer)"],
                "rest_ms": rest,
                "server_cpu_ms": http[label]["cpu"],
                "job_cpu_ms": stages["job CPU in process"],
                "server_faults": http[label]["faults"],
                "job_faults": stages["job faults in process"],
                "whole_job_ms": stages["whole job in a pool thread"],
            }
        )
    return rows


def print_breakdown(rows: list[dict[str, Any]], image: CorpusImage) -> None:
    print(f"\nwhere a cold request spends its time, {image.corpus} {image.label}, ms (p50 each):")
    print(
        "  storage read / cache write: the project's LocalStorage in this process (page cache warm, cache "
        "write fsyncs, runs after the answer);\n  decode, stages, encode: the same functions the worker "
        "runs, called one by one in this process;\n  send: last body byte minus response headers, at the "
        "client; rest: measured cold time minus all of these (a sum of per-stage medians, so it also holds\n"
        "  what a stage costs more inside one job than alone; the whole job timed in one call, in a pool thread\n"
        "  as the server runs it, is below the table)."
    )
    stages: list[str] = []
    for row in sorted(rows, key=lambda row: -len(row["parts"])):  # the pipeline's order first
        stages += [s for s in row["parts"] if s not in stages]
    print(f"{'stage':<38}" + "".join(f"{row['label']:>20}" for row in rows))
    for stage in stages:
        print(f"{stage:<38}" + "".join(f"{row['parts'].get(stage, float('nan')):20.1f}" for row in rows))
    print(f"{'= measured cold request':<38}" + "".join(f"{row['cold_ms']:20.1f}" for row in rows))
    print(f"{'the whole job, one call, pool thread':<38}" + "".join(f"{row['whole_job_ms']:20.1f}" for row in rows))
    print(
        f"{'  cold request minus the whole job':<38}"
        + "".join(f"{row['cold_ms'] - row['whole_job_ms']:20.1f}" for row in rows)
    )
    print(f"{'cache write (after the answer)':<38}" + "".join(f"{row['cache_write_ms']:20.1f}" for row in rows))
    print(f"{'server CPU during the cold request':<38}" + "".join(f"{row['server_cpu_ms']:20.0f}" for row in rows))
    print(f"{'CPU of decode+filter+encode, in proc.':<38}" + "".join(f"{row['job_cpu_ms']:20.0f}" for row in rows))
    print(f"{'server minor page faults, cold request':<38}" + "".join(f"{row['server_faults']:20.0f}" for row in rows))
    print(f"{'minor page faults of the job, in proc.':<38}" + "".join(f"{row['job_faults']:20.0f}" for row in rows))
    if any(row["rest_ms"] < 0 for row in rows):
        print("  (a negative rest, shown as 0, means the in-process stages ran slower than inside the server)")


def encode_variants(png: bytes, runs: int) -> dict[str, tuple[float, int]]:
    """p50 ms and size of encoding one filter output with the server's PNG writer (``imaging.png``)
    and with libpng through OpenCV at the settings that write the same kind of file (zlib level 1,
    Huffman-only, Sub) and at libpng's defaults: the baseline the server's writer replaced, since
    encoding was the largest stage of a cold request. Every variant decodes to the same pixels."""
    image = decode_png16(png)
    variants: dict[str, Callable[[], bytes]] = {
        "server: imaging.png (Sub + ISA-L level 1)": lambda: encode(image, "image/png"),
        "libpng: zlib 1, Huffman-only, Sub": lambda: cv2.imencode(".png", image, codecs.LIBPNG_PARAMS)[1].tobytes(),
        "libpng: defaults (zlib 6, filter per row)": lambda: cv2.imencode(".png", image, corpus.LIBPNG_DEFAULT)[
            1
        ].tobytes(),
    }
    out: dict[str, tuple[float, int]] = {}
    for label, write in variants.items():
        encoded = write()  # warm-up
        if not np.array_equal(decode_png16(encoded), image):
            raise RuntimeError(f"{label} does not decode to the pixels it was given")
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            write()
            samples.append(time.perf_counter() - start)
        out[label] = (statistics.median(samples) * 1e3, len(encoded))
    return out


def decode_variants(images: list[CorpusImage], runs: int) -> dict[str, dict[str, float]]:
    """p50 ms of decoding each stored upload with the server's decoder (``imaging.png_decoder``: zlib-ng
    inflates while libpng un-filters segments on a helper thread) and with libpng alone (``cv2.imdecode``),
    interleaved; both must give the same pixels."""
    out: dict[str, dict[str, float]] = {}
    for image in images:
        png = image.read()
        variants: dict[str, Callable[[], np.ndarray]] = {
            "server": lambda png=png: decode_png16(png),  # type: ignore[misc]
            "libpng": lambda png=png: cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED),  # type: ignore[misc]
        }
        if not np.array_equal(variants["server"](), variants["libpng"]()):
            raise RuntimeError(f"the server's decoder and libpng disagree on {image.corpus} {image.label}")
        samples: dict[str, list[float]] = {label: [] for label in variants}
        for _ in range(max(runs, 5)):
            for label, decode in variants.items():
                start = time.perf_counter()
                decode()
                samples[label].append(time.perf_counter() - start)
        out[f"{image.corpus} {image.label}"] = {label: statistics.median(v) * 1e3 for label, v in samples.items()}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 runs, no 100-megapixel memory job")
    parser.add_argument("--runs", type=int, default=None, help="fresh resources per filter and corpus [5]")
    parser.add_argument("--plots", metavar="DIR", help="write bench-filters-cold.png there (matplotlib)")
    parser.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    parser.add_argument("--memory-side", type=int, default=MEMORY_SIDE, help="side of the peak-memory image")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    parser.add_argument("--write-big", help=argparse.SUPPRESS)
    parser.add_argument("--side", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    tune_allocator()  # the floor runs here: the same allocator settings as the server's process
    if args.memory_child:
        memory_child(args.memory_child)
        return 0
    if args.write_big:
        write_big_png(args.write_big, args.side)
        return 0
    runs = args.runs or (2 if args.quick else 5)
    print(
        f"bench_filters_http: {'quick' if args.quick else 'full'} mode, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.2f}, OpenCV {cv2.__version__} ({cv2.getNumThreads()} threads)",
        flush=True,
    )

    with tempfile.TemporaryDirectory(prefix="filters-bench-http-") as tmp:
        images = list(corpus.build(tmp, binned_sizes=(False,)))
        for image in images:
            print("  " + corpus.describe(image), flush=True)
        port = free_port()
        server = filters_server("filters-server", port, f"file:{tmp}/storage", os.path.join(tmp, "server.log"))
        outputs = os.path.join(tmp, "outputs")
        os.makedirs(outputs)
        bare, bare_url, _ = baseline_server(tmp, "bare-transfer", write_outputs(images, outputs), fsync=False)
        server.start()
        bare.start()
        try:
            realistic = next(i for i in images if i.corpus == "realistic")
            jobs = {
                label: StagedJob(label, name, params, realistic.read(), realistic.binned)
                for label, name, _, params in SPECS
            }
            http = asyncio.run(measure_http(f"http://127.0.0.1:{port}", images, runs, server.pid, jobs, bare_url))
            server.check_alive()
        finally:
            server.stop()
            bare.stop()
        rows = breakdown_rows(breakdown(jobs, tmp, runs), http["realistic"])
        variants = encode_variants(jobs["supreme general 70"].output, runs)
        decodes = decode_variants(images, runs)
        memory = None if args.quick else peak_memory(tmp, args.memory_side)

    print_http(http, images, runs)
    print_breakdown(rows, realistic)
    print(
        f"\nencoding the supreme general 70 output ({realistic.label}) as PNG, in process, p50 of {runs}: the "
        "server's writer against libpng"
    )
    for label, (ms, size) in variants.items():
        print(f"  {label:<50} {ms:7.1f} ms  {size / 1e6:6.2f} MB")
    print(
        f"\ndecoding the stored upload, in process, p50 of {max(runs, 5)} interleaved: the server's decoder against libpng"
    )
    for label, times in decodes.items():
        print(
            f"  {label:<30} server {times['server']:6.1f} ms  libpng alone {times['libpng']:6.1f} ms  "
            f"{times['server'] / times['libpng']:.2f}x"
        )
    if memory is not None:
        print(
            f"\npeak memory of one supreme general 70 job (decode + filter + encode) on a {args.memory_side}x"
            f"{args.memory_side} image ({memory['png_bytes'] / 1e6:.0f} MB PNG), child process: RSS high-water "
            f"{memory['peak_mib']:.0f} MiB, {memory['peak_mib'] - memory['rss_before_mib']:.0f} MiB above the "
            f"process with the PNG bytes loaded ({memory['rss_before_mib']:.0f} MiB); "
            f"{(memory['peak_mib'] - memory['rss_before_mib']) * 2**20 / memory['pixels']:.1f} bytes per pixel; "
            f"job took {memory['seconds']:.1f} s"
        )
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")
    data = {
        "image": f"{realistic.corpus} {realistic.label}",
        "http": http,
        "filters": rows,
        "encode_variants": variants,
        "decode_variants": decodes,
        "memory": memory,
    }
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=1))
    if args.plots:
        from bench import plots

        print(f"wrote {plots.cold_breakdown(data, args.plots)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
