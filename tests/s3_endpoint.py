"""A throwaway S3 endpoint for tests: moto's standalone server on loopback.

Used two ways:

* by ``make test``, once for the whole run::

      python tests/s3_endpoint.py start --port-file F --pid-file P   # prints the URL
      python tests/s3_endpoint.py stop --pid-file P

* by ``tests/backends/conftest.py`` (import :class:`MotoServer`) when
  ``FILTERS_TEST_S3_ENDPOINT`` is not set.

Only the standard library is used here; moto itself runs in the child.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ENV_VAR = "FILTERS_TEST_S3_ENDPOINT"
HOST = "127.0.0.1"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def answers(url: str, timeout: float = 1.0) -> bool:
    """True once the endpoint speaks HTTP (any status counts)."""
    try:
        with urllib.request.urlopen(url + "/moto-api/", timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


def wait_until_answers(url: str, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if answers(url):
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"moto_server exited with status {proc.returncode} before answering on {url}")
        time.sleep(0.05)
    raise RuntimeError(f"no S3 endpoint answered on {url} within {timeout:.0f} s")


class MotoServer:
    """One moto_server child process bound to 127.0.0.1."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int) -> None:
        self.proc = proc
        self.port = port
        self.url = f"http://{HOST}:{port}"

    @classmethod
    def start(
        cls, port: int | None = None, *, log: Path | None = None, timeout: float = 30.0, detach: bool = False
    ) -> MotoServer:
        """Start moto_server and wait until it answers.

        Unless ``detach``, the server exits by itself when this process dies,
        so a killed test run leaves no server behind.
        """
        port = port or free_port()
        command = [sys.executable, str(Path(__file__).resolve()), "serve", "--port", str(port)]
        if not detach:
            command += ["--parent-pid", str(os.getpid())]
        out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - handed to the child
        try:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # no terminal signals: stopped explicitly (or by its watchdog)
            )
        finally:
            if log:
                out.close()  # type: ignore[union-attr]
        server = cls(proc, port)
        try:
            wait_until_answers(server.url, timeout, proc)
        except BaseException:
            server.stop()
            raise
        return server

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _stop_pid(pid: int, timeout: float = 10.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            os.kill(pid, 0)  # raises ProcessLookupError once it is gone
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)


def serve(port: int, parent_pid: int | None) -> None:
    """Run moto_server in this process; with ``parent_pid``, only while that process lives."""
    if parent_pid is not None:

        def watch_parent() -> None:
            while os.getppid() == parent_pid:
                time.sleep(0.5)
            os._exit(0)  # orphaned: the test run is gone

        threading.Thread(target=watch_parent, daemon=True).start()
    from moto.server import main as moto_main

    moto_main(["-H", HOST, "-p", str(port)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="start moto_server in the background; print its URL")
    start.add_argument("--port-file", type=Path, required=True, help="receives the port number")
    start.add_argument("--pid-file", type=Path, required=True, help="receives the server's process id")
    start.add_argument("--port", type=int, default=0, help="port to bind (default: a free one)")
    start.add_argument("--log", type=Path, help="append the server's output here (default: discard)")
    stop = sub.add_parser("stop", help="stop the server a pid file names")
    stop.add_argument("--pid-file", type=Path, required=True)
    run = sub.add_parser("serve", help="run moto_server in the foreground (what 'start' launches)")
    run.add_argument("--port", type=int, required=True)
    run.add_argument("--parent-pid", type=int, help="exit when this process is no longer the parent")
    args = parser.parse_args(argv)

    if args.command == "serve":
        serve(args.port, args.parent_pid)
        return 0
    if args.command == "start":
        server = MotoServer.start(args.port or None, log=args.log, detach=True)
        args.port_file.write_text(f"{server.port}\n")
        args.pid_file.write_text(f"{server.proc.pid}\n")
        print(server.url)
        return 0

    try:
        pid = int(args.pid_file.read_text().strip())
    except FileNotFoundError:
        return 0  # nothing started, nothing to stop
    _stop_pid(pid)
    args.pid_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
