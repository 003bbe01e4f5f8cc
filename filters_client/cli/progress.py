"""What a batch shows while it runs: a live bar on a terminal (rich), plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import IO, Any, Protocol


class Progress(Protocol):
    def start(self, total: int) -> None: ...
    def finished(self, file: str, outcome: str, written: int = 0, message: str | None = None) -> None: ...
    def note(self, text: str) -> None: ...
    def close(self) -> None: ...


class _Rate:
    """Files a second and an ETA over the files actually processed (skips are instant, not counted)."""

    def __init__(self) -> None:
        self.total = 0
        self.count = 0
        self.worked = 0
        self.started = time.monotonic()

    def add(self, outcome: str) -> None:
        self.count += 1
        if outcome != "skipped":
            self.worked += 1

    @property
    def per_second(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.worked / elapsed if elapsed > 0 else 0.0

    @property
    def eta(self) -> str:
        rate = self.per_second
        if rate <= 0 or self.count >= self.total:
            return "--:--"
        seconds = int((self.total - self.count) / rate)
        if seconds >= 3600:
            return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
        return f"{seconds // 60:02d}:{seconds % 60:02d}"


class PlainProgress:
    """One line per finished file, for logs and pipes."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.rate = _Rate()

    def start(self, total: int) -> None:
        self.rate.total = total
        self.rate.started = time.monotonic()
        self.note(f"{total} input file(s)")

    def finished(self, file: str, outcome: str, written: int = 0, message: str | None = None) -> None:
        self.rate.add(outcome)
        width = len(str(self.rate.total))
        line = (
            f"[{self.rate.count:{width}d}/{self.rate.total}] {outcome:<7} {file}"
            f"  ({self.rate.per_second:.2f} files/s, ETA {self.rate.eta})"
        )
        if message:
            line += f": {message}"
        self.note(line)

    def note(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def close(self) -> None:
        pass


class RichProgress:
    """A live bar: done/total, files a second, MB written a second, elapsed and ETA."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        # rich is imported here only: plain runs and library users never pay for it.
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.text import Text

        self._text = Text

        self.console = Console(file=stream or sys.stderr)
        self.rate = _Rate()
        self.written = 0
        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self._task: Any = None

    def start(self, total: int) -> None:
        self.rate.total = total
        self.rate.started = time.monotonic()
        self._bar.start()
        self._task = self._bar.add_task("filtering", total=total, rate="")

    def finished(self, file: str, outcome: str, written: int = 0, message: str | None = None) -> None:
        self.rate.add(outcome)
        self.written += written
        elapsed = max(time.monotonic() - self.rate.started, 1e-9)
        rate = f"{self.rate.per_second:.2f} files/s {self.written / 1e6 / elapsed:.1f} MB/s"
        self._bar.update(self._task, advance=1, rate=rate)
        if outcome == "failed":
            self.console.print(self._text.assemble(("failed ", "red"), f"{file}: {message}"), highlight=False)

    def note(self, text: str) -> None:
        self.console.print(text, highlight=False, markup=False)

    def close(self) -> None:
        self._bar.stop()


def choose(live: bool | None = None, stream: IO[str] | None = None) -> Progress:
    """A live bar when the stream is a terminal (or ``live``), plain lines otherwise."""
    target = stream or sys.stderr
    if live is None:
        live = target.isatty()
    return RichProgress(target) if live else PlainProgress(target)
