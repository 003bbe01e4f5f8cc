"""The storage contract: what every backend (memory, local disk, S3) guarantees.

Each test runs once per backend through the ``backend``/``storage`` fixtures.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING

import pytest

from backends import ObjectNotFound, Storage, validate_key

if TYPE_CHECKING:
    from tests.backends.conftest import Backend

MiB = 1024 * 1024

# Unclosed responses and event-loop-blocking request bodies surface as ResourceWarning.
pytestmark = pytest.mark.filterwarnings("error::ResourceWarning")


def payload(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


async def stream(data: bytes, chunk: int = 64 * 1024) -> AsyncIterator[bytes]:
    for offset in range(0, len(data), chunk):
        yield data[offset : offset + chunk]
        await asyncio.sleep(0)


async def failing_stream(data: bytes, chunk: int = MiB) -> AsyncIterator[bytes]:
    """Yields ``data`` then fails, as a validator rejecting an upload would."""
    async for part in stream(data, chunk):
        yield part
    raise ValueError("rejected by validator")


async def read_all(storage: Storage, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in storage.read(key, start, end)])


async def listed(storage: Storage, prefix: str, start_after: str | None = None) -> list[str]:
    return [key async for key in storage.list(prefix, start_after=start_after)]


async def put_all(storage: Storage, keys: Iterable[str]) -> None:
    for key in keys:
        await storage.put_bytes(key, key.encode())


# -- writing and reading back ---------------------------------------------


async def test_put_bytes_then_stat_and_get_bytes_round_trip(storage: Storage) -> None:
    info = await storage.put_bytes("img/1/meta", b"hello")
    assert (info.key, info.size) == ("img/1/meta", 5)
    assert await storage.get_bytes("img/1/meta") == b"hello"
    stat = await storage.stat("img/1/meta")
    assert (stat.key, stat.size, stat.etag) == ("img/1/meta", 5, info.etag)
    assert stat.last_modified > 0


async def test_empty_object_round_trips(storage: Storage) -> None:
    await storage.put_bytes("empty", b"")
    assert (await storage.stat("empty")).size == 0
    assert await storage.get_bytes("empty") == b""
    assert await read_all(storage, "empty") == b""


async def test_streamed_put_of_many_chunks_reads_back_identical(storage: Storage) -> None:
    data = payload(12 * MiB + 12345)  # above the S3 part size: a multipart upload there
    info = await storage.put("big", stream(data))
    assert info.size == len(data)
    assert (await storage.stat("big")).size == len(data)
    assert await read_all(storage, "big") == data


async def test_streamed_put_of_small_chunks_below_part_size_reads_back(storage: Storage) -> None:
    data = payload(300_001, seed=1)
    await storage.put("small", stream(data, chunk=1000))
    assert await storage.get_bytes("small") == data


async def test_put_returns_the_etag_stat_reports(storage: Storage) -> None:
    info = await storage.put("k", stream(payload(100_000)))
    assert (await storage.stat("k")).etag == info.etag


async def test_etag_changes_when_content_changes(storage: Storage) -> None:
    first = await storage.put_bytes("k", b"version one")
    second = await storage.put_bytes("k", b"version two")
    assert first.etag != second.etag
    assert (await storage.stat("k")).etag == second.etag


# -- ranged reads ---------------------------------------------------------

RANGE_DATA = bytes(range(256)) * 40  # 10240 bytes


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (0, None, RANGE_DATA),
        (100, 200, RANGE_DATA[100:200]),
        (10000, None, RANGE_DATA[10000:]),  # open end
        (0, 1, RANGE_DATA[:1]),
        (50, 50, b""),  # zero-length
        (10000, 20000, RANGE_DATA[10000:]),  # end past the object: clipped
        (10240, None, b""),  # starts exactly at the end
        (20000, None, b""),  # starts past the end
        (20000, 30000, b""),
    ],
)
async def test_ranged_read_returns_exactly_the_clipped_range(
    storage: Storage, start: int, end: int | None, expected: bytes
) -> None:
    await storage.put_bytes("r", RANGE_DATA)
    assert await read_all(storage, "r", start, end) == expected


async def test_ranged_read_across_a_large_object_streams_in_several_chunks(storage: Storage) -> None:
    data = payload(3 * MiB, seed=2)
    await storage.put("big", stream(data, chunk=MiB))
    chunks = [chunk async for chunk in storage.read("big", 1, 3 * MiB - 1)]
    assert len(chunks) > 1  # streamed, not one whole-object buffer
    assert b"".join(chunks) == data[1:-1]


async def test_reader_stopping_early_leaves_the_backend_usable(storage: Storage) -> None:
    await storage.put("big", stream(payload(3 * MiB, seed=3), chunk=MiB))
    for _ in range(3):
        reader = storage.read("big")
        first = await reader.__anext__()
        assert first
        await reader.aclose()  # type: ignore[attr-defined]
    assert (await storage.stat("big")).size == 3 * MiB


# -- atomicity: failed and cancelled writes leave nothing -------------------


async def test_put_whose_stream_raises_leaves_nothing(backend: Backend) -> None:
    storage = backend.storage
    with pytest.raises(ValueError, match="rejected by validator"):
        await storage.put("upload", failing_stream(payload(9 * MiB)))  # past one S3 part
    with pytest.raises(ObjectNotFound):
        await storage.stat("upload")
    assert await listed(storage, "") == []
    assert await backend.leftovers() == []  # no temp files, no open multipart uploads


async def test_put_whose_stream_raises_before_any_data_leaves_nothing(backend: Backend) -> None:
    with pytest.raises(ValueError):
        await backend.storage.put("upload", failing_stream(b""))
    assert await backend.leftovers() == []


async def test_cancelled_put_leaves_nothing(backend: Backend) -> None:
    storage = backend.storage
    stalled = asyncio.Event()

    async def stalling_stream() -> AsyncIterator[bytes]:
        for _ in range(9):  # 9 MiB: on S3 one part is already uploaded
            yield payload(MiB)
        stalled.set()
        await asyncio.Event().wait()  # a client that stops sending
        yield b"never"

    task = asyncio.create_task(storage.put("upload", stalling_stream()))
    await asyncio.wait_for(stalled.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(ObjectNotFound):
        await storage.stat("upload")
    assert await backend.leftovers() == []


async def test_overwrite_replaces_the_object(storage: Storage) -> None:
    await storage.put_bytes("k", b"old")
    await storage.put("k", stream(b"new and longer"))
    assert await storage.get_bytes("k") == b"new and longer"
    assert (await storage.stat("k")).size == len(b"new and longer")
    assert await listed(storage, "") == ["k"]


async def test_failed_overwrite_keeps_the_previous_object_whole(backend: Backend) -> None:
    storage = backend.storage
    await storage.put_bytes("k", b"old")
    with pytest.raises(ValueError):
        await storage.put("k", failing_stream(payload(9 * MiB)))
    assert await storage.get_bytes("k") == b"old"
    assert await backend.leftovers() == ["k"]


async def test_readers_see_old_or_new_content_never_a_mix(storage: Storage) -> None:
    old, new = b"a" * 100_000, b"b" * 200_000
    await storage.put_bytes("k", old)
    first_half_taken, gate = asyncio.Event(), asyncio.Event()

    async def slow_new() -> AsyncIterator[bytes]:
        yield new[:100_000]
        first_half_taken.set()  # the backend has consumed the first half and asks for more
        await gate.wait()
        yield new[100_000:]

    writer = asyncio.create_task(storage.put("k", slow_new()))
    await asyncio.wait_for(first_half_taken.wait(), timeout=10)
    assert await storage.get_bytes("k") == old  # mid-write: still the old object
    gate.set()
    await writer
    assert await storage.get_bytes("k") == new


# -- listing ----------------------------------------------------------------

KEYS = ["img/b/2", "img/a/1", "img/ab", "img/a/3", "img/c", "imgx/1", "other/1", "img/a/2"]


async def test_list_yields_keys_under_prefix_in_lexicographic_order(storage: Storage) -> None:
    await put_all(storage, KEYS)
    assert await listed(storage, "img/") == ["img/a/1", "img/a/2", "img/a/3", "img/ab", "img/b/2", "img/c"]


async def test_list_prefix_is_a_plain_string_prefix(storage: Storage) -> None:
    await put_all(storage, KEYS)
    assert await listed(storage, "img/a") == ["img/a/1", "img/a/2", "img/a/3", "img/ab"]
    assert await listed(storage, "img/a/") == ["img/a/1", "img/a/2", "img/a/3"]


async def test_list_with_empty_prefix_yields_everything_sorted(storage: Storage) -> None:
    await put_all(storage, KEYS)
    assert await listed(storage, "") == sorted(KEYS)


async def test_list_of_unknown_prefix_is_empty(storage: Storage) -> None:
    await put_all(storage, KEYS)
    assert await listed(storage, "nothing/") == []


async def test_list_start_after_skips_up_to_and_including_that_key(storage: Storage) -> None:
    await put_all(storage, KEYS)
    assert await listed(storage, "img/", start_after="img/a/2") == ["img/a/3", "img/ab", "img/b/2", "img/c"]


async def test_list_start_after_a_key_that_does_not_exist(storage: Storage) -> None:
    await put_all(storage, KEYS)
    assert await listed(storage, "img/", start_after="img/a/25") == ["img/a/3", "img/ab", "img/b/2", "img/c"]


async def test_list_start_after_before_the_prefix_lists_the_whole_prefix(storage: Storage) -> None:
    await put_all(storage, KEYS)
    assert await listed(storage, "other/", start_after="img/") == ["other/1"]


async def test_list_start_after_past_the_prefix_is_empty(storage: Storage) -> None:
    await put_all(storage, KEYS)
    assert await listed(storage, "img/", start_after="img/z") == []


async def test_list_consumer_may_stop_early(storage: Storage) -> None:
    await put_all(storage, KEYS)
    lister = storage.list("img/")
    assert await lister.__anext__() == "img/a/1"
    await lister.aclose()  # type: ignore[attr-defined]
    assert len(await listed(storage, "img/")) == 6


# -- deleting ----------------------------------------------------------------


async def test_delete_removes_the_object(storage: Storage) -> None:
    await storage.put_bytes("k", b"x")
    await storage.delete("k")
    with pytest.raises(ObjectNotFound):
        await storage.stat("k")
    assert await listed(storage, "") == []


async def test_delete_is_idempotent(storage: Storage) -> None:
    await storage.put_bytes("k", b"x")
    await storage.delete("k")
    await storage.delete("k")
    await storage.delete("never/was")


async def test_puts_beside_deletes_that_empty_their_prefix_all_succeed(storage: Storage) -> None:
    """Uploads and deletes of sibling resources at the same time: a delete that leaves a prefix
    empty must not fail a put under it (on local disk, pruning an emptied directory raced with
    making it again: a 500 under 8 concurrent upload/delete clients)."""

    async def churn(client: int) -> None:
        for turn in range(30):
            key = f"images/{client}-{turn}/media"
            await storage.put_bytes(key, b"x")
            await storage.delete(key)

    await asyncio.gather(*(churn(client) for client in range(8)))
    await storage.put_bytes("images/last/media", b"y")
    assert await listed(storage, "") == ["images/last/media"]


async def test_delete_prefix_removes_exactly_that_prefix_and_counts(storage: Storage) -> None:
    await put_all(storage, ["r/1/a", "r/1/b/c", "r/1/b/d", "r/10/x", "r/1x", "r/2", "s/1/a"])
    assert await storage.delete_prefix("r/1/") == 3
    assert await listed(storage, "") == ["r/10/x", "r/1x", "r/2", "s/1/a"]


async def test_delete_prefix_of_nothing_returns_zero(storage: Storage) -> None:
    await put_all(storage, ["r/1/a"])
    assert await storage.delete_prefix("r/2/") == 0
    assert await storage.delete_prefix("r/2/") == 0
    assert await listed(storage, "") == ["r/1/a"]


async def test_delete_prefix_requires_a_trailing_slash(storage: Storage) -> None:
    await put_all(storage, ["r/1/a"])
    with pytest.raises(ValueError):
        await storage.delete_prefix("r/1")
    assert await listed(storage, "") == ["r/1/a"]


# -- missing keys and bad keys -------------------------------------------------


async def test_stat_of_missing_key_raises_object_not_found(storage: Storage) -> None:
    with pytest.raises(ObjectNotFound):
        await storage.stat("missing/key")


async def test_get_bytes_of_missing_key_raises_object_not_found(storage: Storage) -> None:
    with pytest.raises(ObjectNotFound):
        await storage.get_bytes("missing/key")


@pytest.mark.parametrize(("start", "end"), [(0, None), (10, 20), (5, 5)])
async def test_read_of_missing_key_raises_object_not_found(storage: Storage, start: int, end: int | None) -> None:
    with pytest.raises(ObjectNotFound):
        await read_all(storage, "missing/key", start, end)


def test_object_not_found_is_a_key_error() -> None:
    assert issubclass(ObjectNotFound, KeyError)


BAD_KEYS = ["", "/abs", "..", "../x", "a/../b", "a/..", ".", "a/./b", "a//b", "a//", "sp ace", "back\\slash", "ü"]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_validate_key_rejects_keys_that_could_escape(key: str) -> None:
    with pytest.raises(ValueError):
        validate_key(key)


@pytest.mark.parametrize("key", ["images/0f3e/media", "a", "a-b_c.d=e/f", "prefix/"])
def test_validate_key_accepts_server_made_keys(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize("key", ["../escape", "/etc/passwd", "a//b", ""])
async def test_put_rejects_invalid_keys_and_stores_nothing(backend: Backend, key: str) -> None:
    with pytest.raises(ValueError):
        await backend.storage.put_bytes(key, b"x")
    with pytest.raises(ValueError):
        await backend.storage.put(key, stream(b"x"))
    assert await backend.leftovers() == []
