"""S3-specific behaviour beyond the shared contract: URLs, multipart, errors, outages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from backends import ObjectNotFound, StorageError, StorageUnavailable, open_storage
from backends import s3 as s3_module
from backends.s3 import MIN_PART_SIZE, S3Storage

from tests.backends.s3_helpers import make_s3_storage, new_bucket_name
from tests.s3_endpoint import MotoServer, free_port

MiB = 1024 * 1024

# Unclosed responses and event-loop-blocking request bodies surface as ResourceWarning.
pytestmark = pytest.mark.filterwarnings("error::ResourceWarning")


async def stream(size: int, chunk: int = MiB) -> AsyncIterator[bytes]:
    for offset in range(0, size, chunk):
        yield bytes([offset // chunk % 256]) * min(chunk, size - offset)


@pytest.fixture
async def s3(s3_endpoint: str) -> AsyncIterator[S3Storage]:
    storage = await make_s3_storage(s3_endpoint)
    yield storage
    await storage.close()


# -- configuration -------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "bucket", "prefix"),
    [
        ("s3://bucket", "bucket", ""),
        ("s3://bucket/", "bucket", ""),
        ("s3://bucket/filters", "bucket", "filters/"),
        ("s3://bucket/a/b/", "bucket", "a/b/"),
    ],
)
def test_from_url_takes_bucket_and_key_prefix(url: str, bucket: str, prefix: str) -> None:
    storage = S3Storage.from_url(url)
    assert (storage.bucket, storage.prefix) == (bucket, prefix)


@pytest.mark.parametrize("url", ["s3:///prefix", "file:///tmp/x", "s3://bucket/../up", "s3://bucket/a//b"])
def test_from_url_rejects_urls_without_bucket_or_with_bad_prefix(url: str) -> None:
    with pytest.raises(ValueError):
        S3Storage.from_url(url)


def test_open_storage_builds_s3_storage_and_ignores_unknown_options() -> None:
    storage = open_storage("s3://bucket/p", endpoint_url="http://127.0.0.1:1", region="eu-west-1", workers=4)
    assert isinstance(storage, S3Storage)
    assert (storage.bucket, storage.prefix, storage.endpoint_url, storage.region) == (
        "bucket",
        "p/",
        "http://127.0.0.1:1",
        "eu-west-1",
    )


def test_s3_storage_is_shared_and_has_no_local_paths() -> None:
    storage = S3Storage("bucket")
    assert storage.shared is True
    assert storage.local_path("a/b") is None


def test_part_size_below_the_s3_minimum_is_refused() -> None:
    with pytest.raises(ValueError):
        S3Storage("bucket", part_size=MIN_PART_SIZE - 1)


async def test_objects_live_under_the_url_prefix(s3: S3Storage) -> None:
    await s3.put_bytes("img/1", b"x")
    raw = await s3.client.list_objects_v2(Bucket=s3.bucket)
    assert [o["Key"] for o in raw["Contents"]] == ["under/test/img/1"]


async def test_create_bucket_is_harmless_when_the_bucket_exists(s3_endpoint: str, s3: S3Storage) -> None:
    again = S3Storage(s3.bucket, "under/test", endpoint_url=s3_endpoint, create_bucket=True)
    await again.start()
    try:
        await again.ping()
    finally:
        await again.close()


# -- multipart -------------------------------------------------------------------


def record_calls(s3: S3Storage, monkeypatch: pytest.MonkeyPatch, name: str) -> list[dict[str, Any]]:
    """Spy on one client method; returns the list of keyword arguments seen."""
    calls: list[dict[str, Any]] = []
    real = getattr(s3.client, name)

    async def spy(**kwargs: Any) -> Any:
        calls.append(kwargs)
        return await real(**kwargs)

    monkeypatch.setattr(s3.client, name, spy)
    return calls


async def test_stream_below_part_size_is_one_put_object(s3: S3Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    created = record_calls(s3, monkeypatch, "create_multipart_upload")
    info = await s3.put("k", stream(s3.part_size - 1))
    assert created == []
    assert "-" not in info.etag  # a multipart ETag reads "<md5>-<parts>"


async def test_stream_above_part_size_uploads_parts_of_at_least_part_size(
    s3: S3Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = record_calls(s3, monkeypatch, "upload_part")
    size = 2 * s3.part_size + 3 * MiB
    info = await s3.put("k", stream(size, chunk=3 * MiB))
    sizes = [len(call["Body"]) for call in parts]
    assert sum(sizes) == size
    assert all(part >= s3.part_size for part in sizes[:-1])
    assert [call["PartNumber"] for call in parts] == list(range(1, len(parts) + 1))
    assert info.etag.endswith(f"-{len(parts)}")
    assert (await s3.stat("k")).etag == info.etag


async def test_multipart_object_carries_a_verified_checksum(s3: S3Storage) -> None:
    await s3.put("k", stream(s3.part_size + MiB))
    head = await s3.client.head_object(Bucket=s3.bucket, Key=s3.prefix + "k", ChecksumMode="ENABLED")
    assert head.get("ChecksumCRC32")


async def test_put_bytes_of_a_large_object_goes_multipart(s3: S3Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    parts = record_calls(s3, monkeypatch, "upload_part")
    data = bytes(s3.part_size + 1)
    await s3.put_bytes("k", data)
    assert len(parts) == 2
    assert await s3.get_bytes("k") == data


async def test_failed_part_upload_aborts_the_multipart_upload(s3: S3Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    real = s3.client.upload_part

    async def second_part_fails(**kwargs: Any) -> Any:
        if kwargs["PartNumber"] == 2:
            raise client_error(500, "InternalError")
        return await real(**kwargs)

    monkeypatch.setattr(s3.client, "upload_part", second_part_fails)
    with pytest.raises(StorageUnavailable):
        await s3.put("k", stream(3 * s3.part_size))
    assert (await s3.client.list_multipart_uploads(Bucket=s3.bucket)).get("Uploads", []) == []
    with pytest.raises(ObjectNotFound):
        await s3.stat("k")


# -- reads ---------------------------------------------------------------------------


async def test_reader_stopped_early_closes_the_response_body(s3: S3Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    bodies = []
    real = s3.client.get_object

    async def spy(**kwargs: Any) -> Any:
        response = await real(**kwargs)
        bodies.append(response["Body"])
        return response

    await s3.put("big", stream(3 * MiB))
    monkeypatch.setattr(s3.client, "get_object", spy)
    reader = s3.read("big")
    assert await reader.__anext__()
    assert not bodies[0].raw_stream.closed
    await reader.aclose()  # type: ignore[attr-defined]
    assert bodies[0].raw_stream.closed


async def test_many_early_stopped_reads_do_not_exhaust_a_one_connection_pool(s3_endpoint: str) -> None:
    s3 = await make_s3_storage(s3_endpoint, max_pool_connections=1)

    async def read_starts_then_stat() -> int:
        for _ in range(5):
            reader = s3.read("big", 0, 3 * MiB)
            assert await reader.__anext__()
            await reader.aclose()  # type: ignore[attr-defined]
        return (await s3.stat("big")).size

    try:
        await s3.put("big", stream(3 * MiB))
        # A leaked body would hold the only connection: the next request waits forever.
        assert await asyncio.wait_for(read_starts_then_stat(), 20) == 3 * MiB
    finally:
        await s3.close()


# -- listing and deleting --------------------------------------------------------------


async def test_delete_prefix_works_in_batches(s3: S3Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(s3_module, "_DELETE_BATCH", 2)
    deletes = record_calls(s3, monkeypatch, "delete_objects")
    for i in range(5):
        await s3.put_bytes(f"r/1/{i}", b"x")
    await s3.put_bytes("r/2", b"x")
    assert await s3.delete_prefix("r/1/") == 5
    assert [len(call["Delete"]["Objects"]) for call in deletes] == [2, 2, 1]
    assert [k async for k in s3.list("")] == ["r/2"]


async def test_list_pages_through_continuation_tokens(s3: S3Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    real = s3.client.list_objects_v2

    async def small_pages(**kwargs: Any) -> Any:
        return await real(**kwargs, MaxKeys=2)

    for i in range(5):
        await s3.put_bytes(f"k/{i}", b"x")
    monkeypatch.setattr(s3.client, "list_objects_v2", small_pages)
    assert [k async for k in s3.list("k/", start_after="k/0")] == ["k/1", "k/2", "k/3", "k/4"]


# -- error mapping ---------------------------------------------------------------------


def client_error(status: int, code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


class FailingClient:
    """Stands in for the aiobotocore client: every call raises one error."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __getattr__(self, name: str) -> Any:
        async def call(**kwargs: Any) -> Any:
            raise self.error

        return call


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (404, "NoSuchKey", ObjectNotFound),
        (404, "404", ObjectNotFound),
        (404, "NoSuchBucket", StorageUnavailable),
        (500, "InternalError", StorageUnavailable),
        (503, "SlowDown", StorageUnavailable),
        (400, "RequestTimeout", StorageUnavailable),
        (403, "AccessDenied", StorageError),
    ],
)
async def test_client_errors_map_to_storage_errors(status: int, code: str, expected: type[Exception]) -> None:
    storage = S3Storage("bucket")
    storage._client = FailingClient(client_error(status, code))
    with pytest.raises(expected) as raised:
        await storage.stat("k")
    if expected is StorageError:
        assert not isinstance(raised.value, (StorageUnavailable, ObjectNotFound))


async def test_ping_reports_any_failure_as_unavailable() -> None:
    storage = S3Storage("bucket")
    storage._client = FailingClient(client_error(403, "AccessDenied"))
    with pytest.raises(StorageUnavailable):
        await storage.ping()


async def test_missing_bucket_makes_the_storage_unavailable(s3_endpoint: str) -> None:
    storage = S3Storage(new_bucket_name(), endpoint_url=s3_endpoint, region="us-east-1")
    await storage.start()
    try:
        with pytest.raises(StorageUnavailable):
            await storage.ping()
        with pytest.raises(StorageUnavailable):
            await storage.put_bytes("k", b"x")
    finally:
        await storage.close()


async def test_using_the_storage_before_start_is_a_programming_error() -> None:
    with pytest.raises(RuntimeError):
        await S3Storage("bucket").stat("k")


# -- outage and recovery ----------------------------------------------------------------


async def test_unreachable_endpoint_is_unavailable_then_recovers(aws_test_env: None) -> None:
    port = free_port()  # nothing listens here yet
    storage = S3Storage(
        new_bucket_name(),
        "p",
        endpoint_url=f"http://127.0.0.1:{port}",
        region="us-east-1",
        connect_timeout=1,
        read_timeout=2,
        max_attempts=1,
    )
    await storage.start()  # needs no round trip: a replica may start while S3 is down
    try:
        with pytest.raises(StorageUnavailable):
            await storage.ping()
        with pytest.raises(StorageUnavailable):
            await storage.stat("k")
        with pytest.raises(StorageUnavailable):
            await storage.put_bytes("k", b"x")
        with pytest.raises(StorageUnavailable):
            await storage.put("k", stream(storage.part_size + 1))
        with pytest.raises(StorageUnavailable):
            [chunk async for chunk in storage.read("k")]
        with pytest.raises(StorageUnavailable):
            [key async for key in storage.list("")]

        server = await asyncio.to_thread(MotoServer.start, port)
        try:
            await storage.client.create_bucket(Bucket=storage.bucket)
            await storage.ping()
            await storage.put_bytes("k", b"back")
            assert await storage.get_bytes("k") == b"back"
        finally:
            await asyncio.to_thread(server.stop)
    finally:
        await storage.close()
