"""Local disk: a full disk is 507 with Retry-After and leaves nothing; readiness reports it; renames are durable."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from backends.local import LocalStorage
from filters_server.testing import png16

from ..conftest import ALICE, stored_keys, upload

PROBLEM = "application/problem+json"


@pytest.fixture
def disk(tmp_path) -> LocalStorage:
    return LocalStorage(str(tmp_path / "storage"))


@pytest.fixture
async def disk_client(aiohttp_client, make_app, disk):
    return await aiohttp_client(make_app(disk), headers=ALICE)


@pytest.fixture
def full_disk(monkeypatch):
    """fsync of any non-empty file fails as on a full disk (the expiry marker, empty, still succeeds)."""
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode) and st.st_size > 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return monkeypatch


def temp_files(disk: LocalStorage) -> list[str]:
    return os.listdir(os.path.join(disk.root, "tmp"))


async def test_a_full_disk_answers_507_with_retry_after_and_leaves_nothing(disk_client, disk, full_disk):
    response = await upload(disk_client, png16())
    assert response.status == 507
    assert response.content_type == PROBLEM
    assert response.headers["Retry-After"]
    assert stored_keys(disk) == []
    assert temp_files(disk) == []


async def test_readiness_fails_after_a_full_disk_and_recovers_when_room_is_back(disk_client, full_disk):
    await upload(disk_client, png16())
    assert (await disk_client.get("/readyz")).status == 503
    full_disk.undo()  # room again
    assert (await disk_client.get("/readyz")).status == 200


async def test_readiness_fails_below_the_minimum_free_space(aiohttp_client, make_app, tmp_path):
    disk = LocalStorage(str(tmp_path / "storage"), min_free_bytes=2**62)
    client = await aiohttp_client(make_app(disk), headers=ALICE)
    response = await client.get("/readyz")
    assert response.status == 503
    assert response.headers["Retry-After"]


async def test_a_rename_into_place_is_followed_by_an_fsync_of_its_directory(disk, monkeypatch):
    await disk.start()
    real_fsync = os.fsync
    synced_dirs: list[tuple[str, bool]] = []

    def fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            path = os.readlink(f"/proc/self/fd/{fd}")
            synced_dirs.append((path, os.path.exists(os.path.join(path, "media"))))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    await disk.put_bytes("images/abc/media", b"bytes")
    objects = os.path.join(disk.root, "objects")
    assert (os.path.join(objects, "images", "abc"), True) in synced_dirs  # after the rename
    assert (os.path.join(objects, "images"), False) in synced_dirs  # the new directory abc's entry
    assert (objects, False) in synced_dirs  # the new directory images' entry
