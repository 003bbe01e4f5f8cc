"""S3 (and S3-compatible) storage through one long-lived aiobotocore client.

``s3://bucket/prefix`` stores key ``k`` as object ``prefix/k`` in ``bucket``.

Credentials come from the standard AWS chain, exactly as for the AWS CLI:
environment (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_SESSION_TOKEN``), ``AWS_PROFILE`` with ``~/.aws/credentials`` and
``~/.aws/config`` (including SSO and assume-role profiles), web identity
(``AWS_ROLE_ARN`` + ``AWS_WEB_IDENTITY_TOKEN_FILE``, i.e. EKS IRSA), then
container and instance metadata. Nothing is read from the storage URL.

Guarantees of the protocol, and how they are met here:

* Atomic streamed writes: a stream shorter than ``part_size`` is buffered and
  sent as one PutObject; a longer one becomes a multipart upload whose parts
  are ``part_size`` or more (only one part is ever held in memory). S3 makes
  the object visible only on CompleteMultipartUpload; any exception or
  cancellation before that aborts the upload (shielded from cancellation), so
  no parts are left billing. As belt and braces, give the bucket a lifecycle
  rule ``AbortIncompleteMultipartUpload`` for uploads lost to a killed process.
  A cancellation that lands *during* the final PutObject/Complete call may or
  may not leave the new object (S3 may already have committed it), but never
  a partial one.
* Ranged reads use GetObject with a ``Range`` header; response bodies are
  always closed, also when the consumer stops early.
* Listing relies on S3's lexicographic ListObjectsV2 order and is lazy.

Errors: a missing key is :class:`ObjectNotFound`; connection failures,
timeouts, 5xx and throttling (after botocore's own retries) are
:class:`StorageUnavailable`; anything else (e.g. access denied) is
:class:`StorageError`.

Deadlines: every call (a GetObject with its body, a HeadObject, a PutObject, a
list page, a delete, each part of a multipart upload and its completion, each
chunk of a streamed read) must finish within ``timeout`` seconds, retries
included, or it is :class:`StorageUnavailable`; a multipart upload is then
aborted.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import aiobotocore.session
from aiobotocore.config import AioConfig
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from . import ObjectInfo, ObjectNotFound, StorageError, StorageUnavailable, validate_key

log = logging.getLogger(__name__)

MiB = 1024 * 1024
#: S3's minimum part size (all parts but the last).
MIN_PART_SIZE = 5 * MiB
DEFAULT_PART_SIZE = 8 * MiB
_READ_CHUNK = 1 * MiB
_DELETE_BATCH = 1000  # DeleteObjects' limit
# Multipart uploads declare their checksum up front (as boto3's transfer
# manager does) so every part and the completed object are verified end to end.
_CHECKSUM = "CRC32"

_NOT_FOUND_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_UNAVAILABLE_CODES = frozenset(
    {
        "NoSuchBucket",  # the storage itself is not there
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestTimeout",
        "RequestTimeTooSkewed",
        "InternalError",
        "ServiceUnavailable",
    }
)


@contextlib.contextmanager
def _mapped_errors(key: str | None) -> Iterator[None]:
    """Translate botocore failures into the protocol's errors.

    ``key`` is the object the call is about; ``None`` for bucket-level calls,
    where a 404 means the storage is missing rather than an object.
    """
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if key is not None and (code in _NOT_FOUND_CODES or (status == 404 and code != "NoSuchBucket")):
            raise ObjectNotFound(key) from None
        if status >= 500 or code in _UNAVAILABLE_CODES or status == 404:
            raise StorageUnavailable(f"S3 {code or status}: {error.get('Message', '')}") from exc
        raise StorageError(f"S3 {code or status}: {error.get('Message', '')}") from exc
    except (BotoConnectionError, HTTPClientError) as exc:
        # Refused/reset connections, connect and read timeouts, broken bodies.
        raise StorageUnavailable(f"S3 unreachable: {exc}") from exc
    except BotoCoreError as exc:
        # Missing credentials, bad configuration: not transient, but ours to name.
        raise StorageError(f"S3 client error: {exc}") from exc


class S3Storage:
    """Objects in one bucket under one key prefix."""

    shared = True

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        create_bucket: bool = False,
        part_size: int = DEFAULT_PART_SIZE,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_attempts: int = 3,
        max_pool_connections: int = 32,
        addressing_style: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        if not bucket:
            raise ValueError("S3 storage needs a bucket")
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes (S3's minimum)")
        prefix = prefix.strip("/")
        self.bucket = bucket
        self.prefix = validate_key(prefix) + "/" if prefix else ""
        self.endpoint_url = endpoint_url
        self.region = region
        self.create_bucket = create_bucket
        self.part_size = part_size
        self.timeout = timeout  # overall deadline of one call, retries included
        # S3-compatible servers (MinIO, Ceph, moto) behind a custom endpoint
        # rarely have wildcard DNS for virtual-hosted buckets.
        style = addressing_style or ("path" if endpoint_url else "auto")
        self._config = AioConfig(
            retries={"mode": "standard", "max_attempts": max_attempts},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_pool_connections=max_pool_connections,
            s3={"addressing_style": style},
            warm_up_loader_caches=True,  # load botocore's JSON models in a thread, not on the loop
        )
        self._stack: contextlib.AsyncExitStack | None = None
        self._client: Any = None

    @classmethod
    def from_url(
        cls,
        url: str,
        endpoint_url: str | None = None,
        region: str | None = None,
        create_bucket: bool = False,
        timeout: float = 30.0,
        **ignored: object,
    ) -> S3Storage:
        """``s3://bucket`` or ``s3://bucket/some/prefix``; other options are ignored."""
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"not an S3 URL: {url!r} (expected s3://bucket/prefix)")
        return cls(
            parts.netloc,
            parts.path,
            endpoint_url=endpoint_url,
            region=region,
            create_bucket=create_bucket,
            timeout=timeout,
        )

    def __repr__(self) -> str:
        return f"S3Storage(s3://{self.bucket}/{self.prefix}, endpoint_url={self.endpoint_url!r})"

    # -- lifecycle -------------------------------------------------------

    async def start(self) -> None:
        if self._client is not None:
            return
        stack = contextlib.AsyncExitStack()
        session = aiobotocore.session.get_session()
        with _mapped_errors(None):
            self._client = await stack.enter_async_context(
                session.create_client(
                    "s3", endpoint_url=self.endpoint_url, region_name=self.region, config=self._config
                )
            )
        self._stack = stack
        if self.create_bucket:
            await self._ensure_bucket()

    async def _ensure_bucket(self) -> None:
        try:
            async with self._call(None):
                await self._client.head_bucket(Bucket=self.bucket)
            return
        except StorageUnavailable as exc:
            if not _is_missing_bucket(exc):
                raise
        kwargs: dict[str, Any] = {"Bucket": self.bucket}
        if self.region and self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            async with self._call(None):
                await self._client.create_bucket(**kwargs)
        except StorageError as exc:
            # Another replica won the race: fine.
            if "BucketAlreadyOwnedByYou" not in str(exc):
                raise

    async def close(self) -> None:
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            await stack.aclose()

    @property
    def client(self) -> Any:
        if self._client is None:
            raise RuntimeError("S3Storage used before start()")
        return self._client

    @contextlib.asynccontextmanager
    async def _call(self, key: str | None) -> AsyncIterator[None]:
        """One S3 call with its errors mapped and an overall deadline.

        botocore's own timeouts bound each socket wait and are retried, so an endpoint that
        accepts connections and then stalls (a paused process) could hold a call for minutes.
        """
        try:
            async with asyncio.timeout(self.timeout):
                with _mapped_errors(key):
                    yield
        except TimeoutError:
            raise StorageUnavailable(f"S3 did not answer within {self.timeout:g} s") from None

    async def ping(self) -> None:
        try:
            async with self._call(None):
                await self.client.head_bucket(Bucket=self.bucket)
        except StorageError as exc:
            # Whatever the reason, the storage does not answer as it should.
            raise StorageUnavailable(str(exc)) from exc

    # -- keys --------------------------------------------------------------

    def _object_key(self, key: str) -> str:
        return self.prefix + validate_key(key)

    # -- writes ------------------------------------------------------------

    async def put(self, key: str, chunks: AsyncIterator[bytes]) -> ObjectInfo:
        object_key = self._object_key(key)
        client = self.client
        buffer = bytearray()
        size = 0
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        try:
            async for chunk in chunks:
                buffer += chunk
                size += len(chunk)
                if len(buffer) >= self.part_size:
                    if upload_id is None:
                        async with self._call(key):
                            created = await client.create_multipart_upload(
                                Bucket=self.bucket, Key=object_key, ChecksumAlgorithm=_CHECKSUM
                            )
                        upload_id = created["UploadId"]
                    # Swap the buffer for an immutable copy so only one part is
                    # held while it uploads (botocore wraps bytes, not bytearray,
                    # in a file object, which aiohttp sends without a warning).
                    part, buffer = bytes(buffer), bytearray()
                    parts.append(await self._upload_part(key, object_key, upload_id, len(parts) + 1, part))
                    del part
            if upload_id is None:
                async with self._call(key):
                    response = await client.put_object(Bucket=self.bucket, Key=object_key, Body=bytes(buffer))
            else:
                if buffer:
                    part, buffer = bytes(buffer), bytearray()
                    parts.append(await self._upload_part(key, object_key, upload_id, len(parts) + 1, part))
                    del part
                async with self._call(key):
                    response = await client.complete_multipart_upload(
                        Bucket=self.bucket,
                        Key=object_key,
                        UploadId=upload_id,
                        MultipartUpload={"Parts": parts},
                    )
                upload_id = None  # completed: nothing to abort any more
        except BaseException:
            if upload_id is not None:
                await self._abort(object_key, upload_id)
            raise
        return ObjectInfo(key, size, _etag(response), _response_time(response))

    async def _upload_part(self, key: str, object_key: str, upload_id: str, number: int, data: bytes) -> dict[str, Any]:
        async with self._call(key):
            response = await self.client.upload_part(
                Bucket=self.bucket,
                Key=object_key,
                UploadId=upload_id,
                PartNumber=number,
                Body=data,
                ChecksumAlgorithm=_CHECKSUM,
            )
        part: dict[str, Any] = {"PartNumber": number, "ETag": response["ETag"]}
        # Echo each part's checksum so Complete verifies the assembled object.
        if f"Checksum{_CHECKSUM}" in response:
            part[f"Checksum{_CHECKSUM}"] = response[f"Checksum{_CHECKSUM}"]
        return part

    async def _abort(self, object_key: str, upload_id: str) -> None:
        """Abort a multipart upload even while the caller is being cancelled."""

        async def abort() -> None:
            try:
                async with asyncio.timeout(self.timeout):  # a stalled endpoint must not hold the abort either
                    await self.client.abort_multipart_upload(Bucket=self.bucket, Key=object_key, UploadId=upload_id)
            except Exception:  # the original failure matters more; a lifecycle rule catches leftovers
                log.warning("could not abort multipart upload %s of %s", upload_id, object_key, exc_info=True)

        task = asyncio.ensure_future(abort())
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            # Cancelled again while aborting: let the abort finish regardless.
            await asyncio.wait([task])
            raise

    async def put_bytes(self, key: str, data: bytes) -> ObjectInfo:
        if len(data) < self.part_size:
            object_key = self._object_key(key)
            async with self._call(key):
                response = await self.client.put_object(Bucket=self.bucket, Key=object_key, Body=bytes(data))
            return ObjectInfo(key, len(data), _etag(response), _response_time(response))

        async def slices() -> AsyncIterator[bytes]:
            view = memoryview(data)
            for offset in range(0, len(data), self.part_size):
                yield bytes(view[offset : offset + self.part_size])

        return await self.put(key, slices())

    # -- reads -------------------------------------------------------------

    async def get_bytes(self, key: str) -> bytes:
        async with self._call(key):
            response = await self.client.get_object(Bucket=self.bucket, Key=self._object_key(key))
            async with response["Body"] as body:
                data: bytes = await body.read()
                return data

    async def stat(self, key: str) -> ObjectInfo:
        async with self._call(key):
            response = await self.client.head_object(Bucket=self.bucket, Key=self._object_key(key))
        return ObjectInfo(key, int(response["ContentLength"]), _etag(response), response["LastModified"].timestamp())

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        if start < 0 or (end is not None and end < 0):
            raise ValueError("byte ranges are non-negative")
        if end is not None and end <= start:
            await self.stat(key)  # nothing to read, but absence must still be reported
            return
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": self._object_key(key)}
        if start or end is not None:
            kwargs["Range"] = f"bytes={start}-" if end is None else f"bytes={start}-{end - 1}"
        try:
            async with self._call(key):
                response = await self.client.get_object(**kwargs)
        except StorageError as exc:
            if _is_unsatisfiable_range(exc):
                return  # the range starts at or past the end: like a file read past EOF
            raise
        body = response["Body"]
        try:
            while True:
                async with self._call(key):
                    chunk = await body.read(_READ_CHUNK)
                if not chunk:
                    return
                yield chunk
        finally:
            # Also on aclose()/GeneratorExit: an unread body pins a pooled connection.
            await body.aclose()

    # -- listing and deletes -----------------------------------------------

    async def list(self, prefix: str, *, start_after: str | None = None) -> AsyncIterator[str]:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self.prefix + prefix}
        if start_after is not None:
            kwargs["StartAfter"] = self.prefix + start_after
        strip = len(self.prefix)
        while True:
            async with self._call(None):
                page = await self.client.list_objects_v2(**kwargs)
            for obj in page.get("Contents", ()):
                yield obj["Key"][strip:]
            if not page.get("IsTruncated"):
                return
            kwargs["ContinuationToken"] = page["NextContinuationToken"]

    async def delete(self, key: str) -> None:
        async with self._call(None):  # S3 deletes are idempotent already
            await self.client.delete_object(Bucket=self.bucket, Key=self._object_key(key))

    async def delete_prefix(self, prefix: str) -> int:
        if not validate_key(prefix).endswith("/"):
            raise ValueError("delete_prefix takes a prefix ending with '/'")
        full_prefix = self.prefix + prefix
        deleted = 0
        start_after: str | None = None
        while True:
            # Restart the listing after each batch instead of holding a
            # continuation token across deletes of the very keys it covers.
            kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": full_prefix, "MaxKeys": _DELETE_BATCH}
            if start_after is not None:
                kwargs["StartAfter"] = start_after
            async with self._call(None):
                page = await self.client.list_objects_v2(**kwargs)
            keys = [obj["Key"] for obj in page.get("Contents", ())]
            if not keys:
                return deleted
            async with self._call(None):
                response = await self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True}
                )
            errors = response.get("Errors") or []
            if errors:
                first = errors[0]
                raise StorageUnavailable(
                    f"S3 could not delete {len(errors)} objects under {prefix!r}: "
                    f"{first.get('Code')} {first.get('Message')}"
                )
            deleted += len(keys)
            start_after = keys[-1]

    def local_path(self, key: str) -> str | None:
        return None


def _etag(response: dict[str, Any]) -> str:
    return str(response["ETag"]).strip('"')


def _response_time(response: dict[str, Any]) -> float:
    """When S3 answered a write: the object's Last-Modified to the second.

    Write responses carry no Last-Modified; their Date header is the same
    clock and saves a HeadObject that could race with another writer.
    """
    date = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    if date:
        with contextlib.suppress(TypeError, ValueError):
            return email.utils.parsedate_to_datetime(date).timestamp()
    return time.time()


def _error_code(exc: BaseException) -> str:
    cause = exc.__cause__
    if isinstance(cause, ClientError):
        return str(cause.response.get("Error", {}).get("Code", ""))
    return ""


def _is_missing_bucket(exc: StorageError) -> bool:
    cause = exc.__cause__
    return isinstance(cause, ClientError) and (
        _error_code(exc) in ("404", "NoSuchBucket", "NotFound")
        or cause.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404
    )


def _is_unsatisfiable_range(exc: StorageError) -> bool:
    cause = exc.__cause__
    return isinstance(cause, ClientError) and (
        _error_code(exc) == "InvalidRange" or cause.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 416
    )
