"""Fixtures for the storage backends: every backend, behind one ``backend`` fixture.

The S3 backend runs against a real HTTP endpoint (moto's standalone server):
``FILTERS_TEST_S3_ENDPOINT`` names one (``make test`` starts it once per run);
otherwise one is started here for the session. If neither works the S3 tests
fail loudly; they are never skipped.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from backends import Storage
from backends.local import LocalStorage
from backends.memory import MemoryStorage
from tests.backends.s3_helpers import make_s3_storage
from tests.s3_endpoint import ENV_VAR, MotoServer, wait_until_answers

BACKENDS = ["memory", "local", "s3"]


@pytest.fixture(scope="session")
def aws_test_env() -> Iterator[None]:
    """Dummy credentials, isolated from the developer's own AWS setup."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        mp.setenv("AWS_CONFIG_FILE", os.devnull)
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
            mp.delenv(name, raising=False)
        yield


@pytest.fixture(scope="session")
def s3_endpoint(aws_test_env: None) -> Iterator[str]:
    """URL of a live S3 endpoint for the whole session."""
    url = os.environ.get(ENV_VAR, "").rstrip("/")
    if url:
        wait_until_answers(url, timeout=10)
        yield url
        return
    server = MotoServer.start()
    try:
        yield server.url
    finally:
        server.stop()


@dataclasses.dataclass
class Backend:
    """A started backend plus a probe of *everything* it holds, partial writes included."""

    name: str
    storage: Storage
    leftovers: Callable[[], Awaitable[list[str]]]


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    name = request.param
    if name == "memory":
        memory = MemoryStorage()

        async def memory_leftovers() -> list[str]:
            return memory.keys()

        yield Backend(name, memory, memory_leftovers)
        return

    if name == "local":
        local = LocalStorage(str(tmp_path / "store"))
        await local.start()

        async def local_leftovers() -> list[str]:
            found = []
            for top, label in ((local.root + "/objects", ""), (local.root + "/tmp", "tmp:")):
                for dirpath, _dirs, files in os.walk(top):
                    rel = os.path.relpath(dirpath, top)
                    found += [label + os.path.normpath(os.path.join(rel, f)) for f in files]
            return sorted(found)

        yield Backend(name, local, local_leftovers)
        await local.close()
        return

    endpoint = request.getfixturevalue("s3_endpoint")
    s3 = await make_s3_storage(endpoint)

    async def s3_leftovers() -> list[str]:
        objects = await s3.client.list_objects_v2(Bucket=s3.bucket)
        uploads = await s3.client.list_multipart_uploads(Bucket=s3.bucket)
        found = [o["Key"].removeprefix(s3.prefix) for o in objects.get("Contents", ())]
        found += ["multipart:" + u["Key"].removeprefix(s3.prefix) for u in uploads.get("Uploads", ())]
        return sorted(found)

    yield Backend(name, s3, s3_leftovers)
    await s3.close()


@pytest.fixture
def storage(backend: Backend) -> Storage:
    return backend.storage
