"""``filters-server --processes 2``: two server processes on one port, stopped together."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from filters_server.testing import png16, sample_image_info

from tests.s3_endpoint import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
AUTH = ("alice", "alice-secret")
BASE = "/api/dsio/filters/v1"


def children_of(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as handle:
        return [int(child) for child in handle.read().split()]


@pytest.fixture
def server(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "filters_server",
            "--processes",
            "2",
            "--port",
            str(port),
            "--storage",
            f"file:{tmp_path / 'store'}",
            "--users",
            "alice:alice-secret",
            "--log-level",
            "warning",
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200 and len(children_of(process.pid)) == 2:
                break
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    yield process, url
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)


def fresh_get(url: str) -> int:
    """A request on a new connection: the kernel may hand it to either process."""
    with requests.Session() as session:
        return session.get(url, auth=AUTH, timeout=10).status_code


def test_two_processes_serve_one_port_and_agree_on_every_resource(server):
    process, url = server
    assert len(children_of(process.pid)) == 2
    files = {
        "imageInfo": (None, json.dumps(sample_image_info()), "application/json"),
        "imageMedia": ("x.png", png16(), "image/png"),
    }
    created = requests.post(f"{url}{BASE}/images", files=files, auth=AUTH, timeout=10).json()
    assert {fresh_get(f"{url}{BASE}/images/{created['id']}") for _ in range(20)} == {200}
    assert requests.delete(f"{url}{BASE}/images/{created['id']}", auth=AUTH, timeout=10).status_code == 204
    assert {fresh_get(f"{url}{BASE}/images/{created['id']}") for _ in range(20)} == {404}


def test_sigterm_stops_every_process(server):
    process, _url = server
    workers = children_of(process.pid)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists()  # ended and reaped by the supervisor


def test_memory_storage_cannot_be_shared_between_processes():
    result = subprocess.run(
        [sys.executable, "-m", "filters_server", "--processes", "2", "--storage", "memory://", "--users", "a:b"],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "memory://" in result.stderr


def test_sighup_to_the_supervisor_reloads_the_users_of_every_process(tmp_path):
    users = tmp_path / "users.txt"
    users.write_text("alice:alice-secret\n")
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "filters_server",
            "--processes",
            "2",
            "--port",
            str(port),
            "--storage",
            f"file:{tmp_path / 'store'}",
            "--users-file",
            str(users),
            "--log-level",
            "warning",
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    url = f"http://127.0.0.1:{port}{BASE}/images/00000000-0000-4000-8000-000000000000"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (
            Path(f"/proc/{process.pid}").exists() and len(children_of(process.pid)) == 2 and _answers(url)
        ):
            time.sleep(0.1)
        users.write_text("alice:alice-secret\ncarol:carol-secret\n")
        process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        statuses: set[int] = set()
        while time.monotonic() < deadline:
            statuses = {fresh_status(url, ("carol", "carol-secret")) for _ in range(20)}
            if statuses == {404}:  # known to every process: the id is simply unknown
                break
            time.sleep(0.2)
        assert statuses == {404}
    finally:
        process.terminate()
        process.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        requests.get(url, timeout=1)
    except requests.ConnectionError:
        return False
    return True


def fresh_status(url: str, auth: tuple[str, str]) -> int:
    with requests.Session() as session:
        return session.get(url, auth=auth, timeout=10).status_code
