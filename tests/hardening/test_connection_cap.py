"""Beyond --max-connections a new connection is answered 503 and closed; room comes back as others close."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from filters_server.config import Settings
from filters_server.testing import FiltersTestServer

CAP = 5


@pytest.fixture
async def capped() -> AsyncIterator[FiltersTestServer]:
    async with FiltersTestServer(
        Settings(storage="memory://", sweep_interval_seconds=3600, max_connections=CAP)
    ) as server:
        yield server


async def connect(server: FiltersTestServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", server._server.port)


async def healthz(server: FiltersTestServer) -> bytes:
    reader, writer = await connect(server)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    answer = await reader.read()
    writer.close()
    return answer


async def until(condition: Callable[[], bool]) -> None:
    """Let the server's loop turn until ``condition`` holds (closing a socket is seen a turn or two later)."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


def open_connections(server: FiltersTestServer) -> int:
    return len(server._server.runner.server.connections)  # type: ignore[union-attr]


async def test_a_connection_beyond_the_cap_gets_503_and_is_closed(capped):
    idle = [await connect(capped) for _ in range(CAP)]
    await until(lambda: open_connections(capped) == CAP)
    reader, writer = await connect(capped)
    answer = await asyncio.wait_for(reader.read(), 10)  # everything until the server closes it
    assert answer.startswith(b"HTTP/1.1 503 ")
    assert b"Retry-After: 1" in answer
    writer.close()
    for _reader, idle_writer in idle:
        idle_writer.close()


async def test_room_comes_back_when_connections_close(capped):
    idle = [await connect(capped) for _ in range(CAP)]
    await until(lambda: open_connections(capped) == CAP)
    for _reader, writer in idle[:2]:
        writer.close()
    await until(lambda: open_connections(capped) == CAP - 2)
    assert (await healthz(capped)).startswith(b"HTTP/1.1 200 ")
    for _reader, writer in idle[2:]:
        writer.close()
