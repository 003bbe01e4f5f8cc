"""``filters-server --processes 2``: two server processes on one port, stopped together."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from filters_server.testing import png16, sample_image_info

from tests.server_process import ServerProcess

AUTH = ("alice", "alice-secret")
BASE = "/api/dsio/filters/v1"


def children_of(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as handle:
        return [int(child) for child in handle.read().split()]


def start_two(*flags: str) -> ServerProcess:
    """``--processes 2`` with ``flags``, once both children listen (each logs it)."""
    server = ServerProcess(["--processes", "2", *flags])
    server.wait_for("listening on")
    server.wait_for("listening on")
    return server


@pytest.fixture
def server(tmp_path):
    process = start_two("--storage", f"file:{tmp_path / 'store'}", "--users", "alice:alice-secret")
    yield process
    process.stop()


def fresh_status(url: str, auth: tuple[str, str] = AUTH) -> int:
    """A request on a new connection: the kernel may hand it to either process."""
    with requests.Session() as session:
        return session.get(url, auth=auth, timeout=10).status_code


def test_two_processes_serve_one_port_and_agree_on_every_resource(server):
    assert len(children_of(server.proc.pid)) == 2
    files = {
        "imageInfo": (None, json.dumps(sample_image_info()), "application/json"),
        "imageMedia": ("x.png", png16(), "image/png"),
    }
    created = requests.post(f"{server.base}{BASE}/images", files=files, auth=AUTH, timeout=10).json()
    url = f"{server.base}{BASE}/images/{created['id']}"
    assert {fresh_status(url) for _ in range(20)} == {200}
    assert requests.delete(url, auth=AUTH, timeout=10).status_code == 204
    assert {fresh_status(url) for _ in range(20)} == {404}


def test_sigterm_stops_every_process(server):
    workers = children_of(server.proc.pid)
    server.signal(signal.SIGTERM)
    assert server.proc.wait(timeout=30) == 0
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists()  # ended and reaped by the supervisor


def test_memory_storage_cannot_be_shared_between_processes():
    result = subprocess.run(
        [sys.executable, "-m", "filters_server", "--processes", "2", "--storage", "memory://", "--users", "a:b"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "memory://" in result.stderr


def test_sighup_to_the_supervisor_reloads_the_users_of_every_process(tmp_path):
    users = tmp_path / "users.txt"
    users.write_text("alice:alice-secret\n")
    server = start_two("--storage", f"file:{tmp_path / 'store'}", "--users-file", str(users))
    try:
        users.write_text("alice:alice-secret\ncarol:carol-secret\n")
        server.signal(signal.SIGHUP)
        server.wait_for("users reloaded")  # one line from each process
        server.wait_for("users reloaded")
        url = f"{server.base}{BASE}/images/00000000-0000-4000-8000-000000000000"
        # Known to every process now: the id is simply unknown, whichever process answers.
        assert {fresh_status(url, ("carol", "carol-secret")) for _ in range(20)} == {404}
    finally:
        server.stop()
