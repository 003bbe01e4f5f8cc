"""The moto endpoint script ``make test`` uses: start in the background, stop by pid file."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.s3_endpoint import answers

SCRIPT = Path(__file__).resolve().parents[1] / "s3_endpoint.py"


def run(*args: str) -> str:
    return subprocess.run([sys.executable, str(SCRIPT), *args], check=True, capture_output=True, text=True).stdout


def test_start_serves_s3_on_loopback_and_stop_ends_it(tmp_path: Path) -> None:
    port_file, pid_file = tmp_path / "port", tmp_path / "pid"
    url = run("start", "--port-file", str(port_file), "--pid-file", str(pid_file)).strip()
    try:
        assert url == f"http://127.0.0.1:{int(port_file.read_text())}"
        assert answers(url)  # start returns only once the server answers
    finally:
        run("stop", "--pid-file", str(pid_file))
    assert not answers(url)
    assert not pid_file.exists()


def test_stop_without_a_running_server_is_harmless(tmp_path: Path) -> None:
    run("stop", "--pid-file", str(tmp_path / "never-written"))


def test_attached_server_exits_when_its_parent_dies(tmp_path: Path) -> None:
    # A parent that starts an attached server, reports its URL, then dies abruptly.
    parent = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sys; sys.path.insert(0, sys.argv[1]); from s3_endpoint import MotoServer; "
            "print(MotoServer.start().url, flush=True); os._exit(0)",
            str(SCRIPT.parent),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    url = parent.stdout.strip()
    deadline = time.monotonic() + 20
    while answers(url) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not answers(url)
