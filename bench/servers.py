"""Server subprocesses for the benchmark: start, wait until ready, measure RSS, stop."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from typing import IO, TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # typing.Self is Python 3.11+; annotations here are never evaluated
    from typing import Self

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the repository


def filters_server(
    name: str,
    port: int,
    storage: str,
    log_path: str,
    *extra: str,
    users: str | None = "bench:bench",
    log_level: str = "warning",
    ready_path: str = "/healthz",
    python: str = sys.executable,
    cwd: str = ROOT,
    env: dict[str, str] | None = None,
) -> ServerProcess:
    """The project's server on 127.0.0.1:``port`` (not started): the options every benchmark
    gives it, then ``extra``. ``users=None`` leaves credentials to ``extra`` (--users-file);
    ``python`` and ``cwd`` select another checkout (the benchmarks that compare with a baseline)."""
    argv = [python, "-m", "filters_server", "--host", "127.0.0.1", "--port", str(port), "--storage", storage]
    argv += ["--users", users] if users is not None else []
    argv += ["--log-level", log_level, *extra]
    return ServerProcess(name, argv, f"http://127.0.0.1:{port}{ready_path}", cwd=cwd, env=env, log_path=log_path)


def baseline_server(workdir: str, name: str, media: list[str], fsync: bool) -> tuple[ServerProcess, str, str]:
    """The bare-aiohttp baseline (bench/baseline_server.py), not yet started: (server, its url, its
    upload directory). ``GET /media/{n}`` serves the n-th of ``media`` with ``web.FileResponse``."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    upload_dir = os.path.join(workdir, name + "-uploads")
    os.makedirs(upload_dir, exist_ok=True)
    argv = [sys.executable, os.path.join(ROOT, "bench", "baseline_server.py"), "--port", str(port), "--dir", upload_dir]
    for path in media:
        argv += ["--media", path]
    if fsync:
        argv.append("--fsync")
    server = ServerProcess(
        f"baseline server ({name})", argv, f"{url}/healthz", cwd=ROOT, log_path=os.path.join(workdir, f"{name}.log")
    )
    return server, url, upload_dir


class ServerProcess:
    """One server started with ``argv``; ``health_url`` answers 200 once it serves."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        health_url: str,
        *,
        cwd: str,
        env: dict[str, str] | None = None,
        log_path: str | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.health_url = health_url
        self.cwd = cwd
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 30.0) -> None:
        # Open for the server's whole life (closed in stop()), so no context manager.
        self._log = open(self.log_path, "wb") if self.log_path else None  # noqa: SIM115
        self.proc = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log or subprocess.DEVNULL,
            stderr=self._log or subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} before serving{self._log_tail()}")
            try:
                with urllib.request.urlopen(self.health_url, timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not answer {self.health_url} within {timeout} s{self._log_tail()}")

    def _log_tail(self) -> str:
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, "rb") as handle:
            return "\n--- log ---\n" + handle.read()[-2000:].decode("utf-8", "replace")

    def check_alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} died{self._log_tail()}")

    def stop(self) -> None:
        """SIGINT (aiohttp's clean shutdown), then SIGKILL if it lingers."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


def _status_kib(pid: int, field: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the whole process (all threads) so far."""
    with open(f"/proc/{pid}/stat") as handle:
        # The command name may contain spaces; fields after its ")" are fixed.
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def minor_faults(pid: int) -> int:
    """Minor page faults of the whole process so far (each is a first touch of a fresh page)."""
    with open(f"/proc/{pid}/stat") as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[7])


def rss_mib(pid: int) -> float:
    kib = _status_kib(pid, "VmRSS")
    return (kib or 0) / 1024


class RssWatch:
    """Peak RSS of a process over a block, above its RSS when the block began.

    Samples VmRSS every few ms and, where the kernel allows resetting it
    (``clear_refs`` 5), also reads the exact peak VmHWM so short spikes between
    samples are not missed.
    """

    def __init__(self, pid: int, interval: float = 0.005) -> None:
        self.pid = pid
        self.interval = interval
        self.idle_mib = 0.0
        self.peak_mib = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._hwm_reset = False

    def __enter__(self) -> Self:
        self.idle_mib = rss_mib(self.pid)
        self.peak_mib = self.idle_mib
        try:
            with open(f"/proc/{self.pid}/clear_refs", "w") as handle:
                handle.write("5")
            self._hwm_reset = True
        except OSError:
            self._hwm_reset = False
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_mib = max(self.peak_mib, rss_mib(self.pid))
            self._stop.wait(self.interval)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        if self._hwm_reset:
            hwm = _status_kib(self.pid, "VmHWM")
            if hwm is not None:
                self.peak_mib = max(self.peak_mib, hwm / 1024)

    @property
    def growth_mib(self) -> float:
        return max(0.0, self.peak_mib - self.idle_mib)


def run_in_workdir(name: str, run: Callable[[str], Awaitable[T]], *, keep: bool) -> tuple[T | None, float]:
    """Run ``run(workdir)`` in a fresh temp dir; (result or None on failure, seconds).

    A failed run says why on stderr (and where its logs are, with ``keep``); the temp dir
    goes away unless ``keep``.
    """
    workdir = tempfile.mkdtemp(prefix=f"filters-{name}-")
    started = time.perf_counter()
    try:
        return asyncio.run(run(workdir)), time.perf_counter() - started
    except Exception as exc:
        print(f"\n{name}: FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        if keep:
            print(f"logs kept in {workdir}", file=sys.stderr)
        return None, time.perf_counter() - started
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
