"""Local-disk specifics: start-up recovery and sendfile paths."""

from __future__ import annotations

import os
from pathlib import Path

from backends.local import LocalStorage


async def test_start_removes_leftover_temp_files_of_interrupted_writes(tmp_path: Path) -> None:
    storage = LocalStorage(str(tmp_path))
    await storage.start()
    await storage.put_bytes("kept", b"complete")
    # What a crash mid-put leaves behind: a temp file never renamed into place.
    (tmp_path / "tmp" / "0123abcd").write_bytes(b"half an upl")

    restarted = LocalStorage(str(tmp_path))
    await restarted.start()

    assert os.listdir(tmp_path / "tmp") == []
    assert await restarted.get_bytes("kept") == b"complete"
    assert [key async for key in restarted.list("")] == ["kept"]


async def test_start_creates_the_store_layout(tmp_path: Path) -> None:
    await LocalStorage(str(tmp_path / "new")).start()
    assert sorted(os.listdir(tmp_path / "new")) == ["objects", "tmp"]


async def test_local_path_names_the_file_holding_the_object(tmp_path: Path) -> None:
    storage = LocalStorage(str(tmp_path))
    await storage.start()
    await storage.put_bytes("img/1/media", b"pixels")
    path = storage.local_path("img/1/media")
    assert path is not None
    assert Path(path).read_bytes() == b"pixels"
