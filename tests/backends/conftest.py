"""Fixtures for the storage backends: every backend, behind one ``backend`` fixture.

The S3 backend runs against a real HTTP endpoint (moto's standalone server),
from the shared ``s3_endpoint`` fixture of :mod:`tests.s3_fixtures`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from backends import Storage
from backends.local import LocalStorage
from backends.memory import MemoryStorage

from tests.backends.s3_helpers import make_s3_storage

BACKENDS = ["memory", "local", "s3"]


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
