"""``dsio-filters batch``: every PNG of a folder through one or more filters, bounded and resumable.

* Memory stays flat whatever the number of files: files are found by a lazy walk (counted first
  in a separate pass), at most ``jobs`` are in flight, media and outputs are streamed, and the
  report keeps counts plus the failures only.
* Resumable: an output that exists is done (outputs are written under a temporary name and
  renamed, so a partial file never looks done); a file whose outputs all exist costs no request.
* Stop (Ctrl-C): nothing new starts, work in flight is cancelled, and every resource it created
  on the server is deleted (an upload in flight is let finish so its resource can be deleted).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..client import FiltersClient
from ..errors import FiltersError
from ..models import extension
from ..shielding import finish
from .filtergroups import Step
from .progress import Progress

DEFAULT_NAME = "{stem}.{filter}{params}.{ext}"
NAME_FIELDS = "{stem} {name} {filter} {params} {ext} {mode} {task} {sharpness}"
MAX_ERRORS_SHOWN = 20


@dataclasses.dataclass(frozen=True)
class BatchOptions:
    in_dir: Path
    out_dir: Path
    steps: tuple[Step, ...]
    recursive: bool = False
    name: str = DEFAULT_NAME
    image_info: Mapping[str, Any] | None = None  # for inputs without a sidecar
    jobs: int = 4
    keep: bool = False


@dataclasses.dataclass
class Report:
    inputs: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    outputs: int = 0
    bytes_written: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    errors: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # failures only: bounded by them

    def to_json(self) -> dict[str, Any]:
        return {
            "inputs": self.inputs,
            "done": self.done,
            "skipped": self.skipped,
            "failed": self.failed,
            "outputs": self.outputs,
            "bytesWritten": self.bytes_written,
            "seconds": round(self.seconds, 3),
            "interrupted": self.interrupted,
            "errors": self.errors,
        }

    def summary(self) -> str:
        rate = (self.done + self.failed) / self.seconds if self.seconds > 0 else 0.0
        text = (
            f"{self.inputs} input(s): {self.done} done, {self.skipped} skipped (outputs present), "
            f"{self.failed} failed; {self.outputs} output(s), {self.bytes_written / 1e6:.1f} MB "
            f"in {self.seconds:.1f} s ({rate:.2f} files/s)"
        )
        if self.interrupted:
            text += "; INTERRUPTED: run again to finish"
        for error in self.errors[:MAX_ERRORS_SHOWN]:
            text += f"\n  failed {error['file']}: {error['error']}"
        if len(self.errors) > MAX_ERRORS_SHOWN:
            text += f"\n  ... and {len(self.errors) - MAX_ERRORS_SHOWN} more"
        return text


@dataclasses.dataclass(frozen=True)
class Job:
    source: Path
    relative: Path
    todo: tuple[tuple[Step, Path], ...]  # the outputs still missing


def output_name(pattern: str, source: Path, step: Step) -> str:
    f = step.filter
    return pattern.format(
        stem=source.stem,
        name=source.name,
        filter=f.name,
        params=f.label,
        ext=extension(step.accept),
        mode=f.mode.value if f.mode else "",
        task=f.task.value if f.task else "",
        sharpness="" if f.sharpness is None else f.label.rsplit("-", 1)[-1],
    )


def check_pattern(pattern: str, steps: tuple[Step, ...]) -> None:
    """Raise ValueError if the pattern is unusable or two steps would write the same file."""
    probe = Path("probe.png")
    names = []
    for step in steps:
        try:
            name = output_name(pattern, probe, step)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"bad --name pattern {pattern!r} ({exc}); fields: {NAME_FIELDS}") from None
        parts = Path(name).parts
        if not name or Path(name).is_absolute() or ".." in parts:
            raise ValueError(f"--name pattern {pattern!r} must give a relative path inside OUT_DIR, not {name!r}")
        names.append(name)
    if len(set(names)) != len(names):
        raise ValueError(
            f"--name pattern {pattern!r} gives the same file name to two filters: add {{params}} or {{ext}}"
        )


def walk(in_dir: Path, recursive: bool, skip: Path | None) -> Iterator[Path]:
    """PNG files under ``in_dir`` in a stable order, lazily; hidden files and ``skip`` (the output folder) left out."""
    for root, dirs, names in os.walk(in_dir):
        here = Path(root)
        if not recursive:
            dirs[:] = []
        else:
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (skip is None or not _same(here / d, skip)))
        for name in sorted(names):
            if name.lower().endswith(".png") and not name.startswith("."):
                yield here / name


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


class Batch:
    def __init__(self, client: FiltersClient, options: BatchOptions, progress: Progress) -> None:
        self.client = client
        self.options = options
        self.progress = progress
        self.report = Report()
        self.stop = asyncio.Event()  # set on Ctrl-C: nothing new starts, work in flight is cancelled

    async def run(self) -> Report:
        started = time.monotonic()
        options = self.options
        out_dir = options.out_dir.resolve()
        self.report.inputs = await asyncio.to_thread(
            lambda: sum(1 for _ in walk(options.in_dir, options.recursive, out_dir))
        )
        self.progress.start(self.report.inputs)
        queue: asyncio.Queue[Job | None] = asyncio.Queue(maxsize=options.jobs)
        workers = [asyncio.create_task(self._worker(queue)) for _ in range(options.jobs)]
        producer = asyncio.create_task(self._produce(queue, out_dir))
        stopping = asyncio.create_task(self.stop.wait())
        try:
            everything: asyncio.Future[Any] = asyncio.gather(producer, *workers)
            racers: list[asyncio.Future[Any]] = [everything, stopping]
            await asyncio.wait(racers, return_when=asyncio.FIRST_COMPLETED)
            if everything.done():
                everything.result()  # a bug in the batch itself surfaces, not silently
            else:
                self.report.interrupted = True
        finally:
            # Cancelled workers delete what they created on the server before they end.
            for task in (producer, *workers, stopping):
                task.cancel()
            await asyncio.gather(producer, *workers, stopping, return_exceptions=True)
            self.report.seconds = time.monotonic() - started
            self.progress.close()
        return self.report

    async def _produce(self, queue: asyncio.Queue[Job | None], out_dir: Path) -> None:
        files = walk(self.options.in_dir, self.options.recursive, out_dir)
        while True:
            job = await asyncio.to_thread(self._next_job, files, out_dir)
            if job is None:
                break
            if not job.todo:
                self.report.skipped += 1
                self.progress.finished(str(job.relative), "skipped")
                continue
            await queue.put(job)
        for _ in range(self.options.jobs):
            await queue.put(None)

    def _next_job(self, files: Iterator[Path], out_dir: Path) -> Job | None:
        """The next file and which of its outputs are missing (runs in a thread: it stats files)."""
        source = next(files, None)
        if source is None:
            return None
        relative = source.relative_to(self.options.in_dir)
        todo = []
        for step in self.options.steps:
            dest = out_dir / relative.parent / output_name(self.options.name, source, step)
            if not dest.exists():
                todo.append((step, dest))
        return Job(source, relative, tuple(todo))

    async def _worker(self, queue: asyncio.Queue[Job | None]) -> None:
        while (job := await queue.get()) is not None:
            try:
                written = await self._process(job)
            except asyncio.CancelledError:
                raise
            except (FiltersError, OSError, ValueError) as exc:
                self._failed(job, exc)
            except Exception as exc:
                self._failed(job, exc)
            else:
                self.report.done += 1
                self.report.outputs += len(job.todo)
                self.report.bytes_written += written
                self.progress.finished(str(job.relative), "done", written)

    def _failed(self, job: Job, exc: BaseException) -> None:
        message = str(exc) or type(exc).__name__
        self.report.failed += 1
        self.report.errors.append(
            {
                "file": str(job.relative),
                "error": message,
                "kind": type(exc).__name__,
                "status": getattr(exc, "status", None),
            }
        )
        self.progress.finished(str(job.relative), "failed", message=message)

    async def _process(self, job: Job) -> int:
        info = await asyncio.to_thread(self._image_info, job.source)
        upload = asyncio.ensure_future(self.client.upload(job.source, info, filename=job.source.name))
        try:
            resource = await asyncio.shield(upload)
        except asyncio.CancelledError:
            # The server may be storing it right now: let the upload end, then delete what it made.
            with contextlib.suppress(Exception):
                made = await finish(upload)
                await finish(self.client.delete(made.id, missing_ok=True))
            raise
        written = 0
        try:
            for step, dest in job.todo:
                await self.client.apply(resource.id, step.filter, accept=step.accept, to=dest)
                written += (await asyncio.to_thread(dest.stat)).st_size
        finally:
            if not self.options.keep:
                # A cancelled job still removes its resource before it ends.
                await finish(self.client.delete(resource.id, missing_ok=True))
        return written

    def _image_info(self, source: Path) -> Mapping[str, Any]:
        """The sidecar ``name.json`` beside ``name.png``, else the default; sent as is (the server judges it)."""
        sidecar = source.with_suffix(".json")
        if sidecar.exists():
            try:
                data = json.loads(sidecar.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ValueError(f"cannot read its ImageInfo {sidecar.name}: {exc}") from None
            if not isinstance(data, dict):
                raise ValueError(f"its ImageInfo {sidecar.name} is not a JSON object")
            return data
        if self.options.image_info is None:
            raise ValueError(f"no ImageInfo: neither {sidecar.name} beside it nor --image-info")
        return self.options.image_info
