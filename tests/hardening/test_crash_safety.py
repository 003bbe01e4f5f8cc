"""kill -9 during concurrent uploads loses nothing that was acknowledged.

A real server process on local disk takes uploads from several threads; it is killed with
SIGKILL mid-stream, restarted on the same directory, and every upload it answered 201 must be
there byte for byte. Unacknowledged ones may or may not exist, but never half: whatever is
listed serves complete media.
"""

from __future__ import annotations

import concurrent.futures
import json
import signal
import threading
import time
from pathlib import Path

import requests

from filters_server.testing import png16, sample_image_info

from tests.server_process import ServerProcess

AUTH = ("alice", "alice-secret")
BASE = "/api/dsio/filters/v1"
ROUNDS = 3
UPLOADERS = 4


def start(store: Path) -> ServerProcess:
    server = ServerProcess(["--storage", f"file:{store}", "--users", "alice:alice-secret"])
    server.wait_for("listening on")
    return server


def uploader(url: str, seed: int, stop: threading.Event, acknowledged: dict[str, bytes]) -> None:
    with requests.Session() as session:
        number = 0
        while not stop.is_set():
            media = png16(160, 120, seed=seed * 1000 + number)
            number += 1
            files = {
                "imageInfo": (None, json.dumps(sample_image_info()), "application/json"),
                "imageMedia": ("x.png", media, "image/png"),
            }
            try:
                response = session.post(f"{url}{BASE}/images", files=files, auth=AUTH, timeout=10)
            except requests.RequestException:
                return  # the server is gone: this upload was never acknowledged
            if response.status_code == 201:
                acknowledged[response.json()["id"]] = media


def test_sigkill_mid_upload_loses_no_acknowledged_upload(tmp_path):
    store = tmp_path / "store"
    acknowledged: dict[str, bytes] = {}
    for _round in range(ROUNDS):
        server = start(store)
        url = server.base
        stop = threading.Event()
        before = len(acknowledged)
        with concurrent.futures.ThreadPoolExecutor(UPLOADERS) as pool:
            workers = [pool.submit(uploader, url, seed, stop, acknowledged) for seed in range(UPLOADERS)]
            deadline = time.monotonic() + 20
            while len(acknowledged) < before + 10 and time.monotonic() < deadline:
                time.sleep(0.01)  # let uploads run; the kill lands in the middle of others
            server.signal(signal.SIGKILL)
            server.proc.wait(timeout=10)
            stop.set()
            for worker in workers:
                worker.result(timeout=30)
        assert len(acknowledged) >= before + 10, "too few uploads before the kill to test anything"

    server = start(store)
    url = server.base
    try:
        with requests.Session() as session:
            for resource_id, media in acknowledged.items():
                response = session.get(f"{url}{BASE}/images/{resource_id}/media", auth=AUTH, timeout=10)
                assert response.status_code == 200, resource_id
                assert response.content == media
    finally:
        server.stop()
