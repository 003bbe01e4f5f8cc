"""A running server reloads its users file on SIGHUP, without a restart."""

from __future__ import annotations

import signal

import aiohttp
import pytest

from filters_server.core.users import hash_password

from .conftest import BASE
from .server_process import ServerProcess

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="this platform has no SIGHUP")


@pytest.fixture
def users_file(tmp_path):
    path = tmp_path / "users.txt"
    path.write_text(f"alice:{hash_password('alice-pw', iterations=1000)}\n")
    return path


@pytest.fixture
def server(users_file):
    process = ServerProcess(["--storage", "memory://", "--users-file", str(users_file)])
    try:
        process.wait_for("listening on")
        yield process
    finally:
        process.stop()


async def status_as(server: ServerProcess, name: str, password: str) -> int:
    headers = {"Authorization": aiohttp.encode_basic_auth(name, password)}
    async with aiohttp.ClientSession(headers=headers) as http, http.get(f"{server.base}{BASE}/openapi.yaml") as r:
        return r.status


async def test_sighup_reloads_the_users_file(server, users_file):
    assert await status_as(server, "bob", "bob-pw") == 401
    users_file.write_text(f"bob:{hash_password('bob-pw', iterations=1000)}\n")
    server.signal(signal.SIGHUP)
    server.wait_for("users reloaded")
    assert await status_as(server, "bob", "bob-pw") == 200
    assert await status_as(server, "alice", "alice-pw") == 401


async def test_sighup_with_a_broken_users_file_keeps_the_users_in_force(server, users_file):
    users_file.write_text("alice\n")
    server.signal(signal.SIGHUP)
    assert "ERROR" in server.wait_for("NOT reloaded")
    assert await status_as(server, "alice", "alice-pw") == 200
