"""Fixtures for replicas sharing one S3 bucket: real server processes and the bucket they share.

Each :class:`Replica` is ``python -m filters_server`` on a free loopback port, on
``s3://<bucket>/fleet`` of the shared test endpoint, with the dummy AWS
credentials of :mod:`tests.s3_fixtures` and its own log file (read by tests that
check a replica logged no errors).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiobotocore.session
import aiohttp
import pytest

from tests.backends.s3_helpers import new_bucket_name
from tests.s3_endpoint import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
USER, PASSWORD = "fleet", "fleet-secret"
AUTH = {"Authorization": aiohttp.encode_basic_auth(USER, PASSWORD)}
BASE = "/api/dsio/filters/v1"
PREFIX = "fleet"
#: The origin clients see in front of the fleet (a load balancer), the same for every replica.
PUBLIC_URL = "http://filters.fleet.test"


class Replica:
    """One server process; ``start`` returns once its ``/readyz`` answers 200 (S3 reachable)."""

    def __init__(self, name: str, storage: str, endpoint: str, log_path: Path, *extra: str) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.argv = [
            sys.executable,
            "-m",
            "filters_server",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--storage",
            storage,
            "--s3-endpoint-url",
            endpoint,
            "--s3-create-bucket",
            "true",
            "--users",
            f"{USER}:{PASSWORD}",
            "--public-url",
            PUBLIC_URL,
            "--workers",
            "1",
            *extra,
        ]
        self.proc: subprocess.Popen[bytes] | None = None

    def launch(self) -> None:
        # Only the flags configure the replica: no FILTERS_* setting of the developer leaks in.
        env = {k: v for k, v in os.environ.items() if not k.startswith("FILTERS_")}
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                self.argv, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )

    def wait_ready(self, timeout: float = 20.0) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"replica {self.name} exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        raise RuntimeError(f"replica {self.name} not ready within {timeout} s:\n{self.log()}")

    def stop(self) -> None:
        """SIGINT (aiohttp's clean shutdown), then SIGKILL if it lingers."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text("utf-8", "replace") if self.log_path.exists() else ""

    def api(self, path: str) -> str:
        return f"{self.url}{BASE}{path}"


class Fleet:
    """Replicas ``a`` and ``b`` on one bucket."""

    def __init__(self, endpoint: str, bucket: str, a: Replica, b: Replica) -> None:
        self.endpoint = endpoint
        self.bucket = bucket
        self.a = a
        self.b = b

    async def keys(self, prefix: str = "") -> list[str]:
        """Every object in the bucket under the fleet's prefix (+ ``prefix``), read independently of the servers."""
        session = aiobotocore.session.get_session()
        found: list[str] = []
        async with session.create_client("s3", endpoint_url=self.endpoint, region_name="us-east-1") as s3:
            paginator = s3.get_paginator("list_objects_v2")
            async for page in paginator.paginate(Bucket=self.bucket, Prefix=f"{PREFIX}/{prefix}"):
                found += [obj["Key"] for obj in page.get("Contents", ())]
        return found


@pytest.fixture(scope="module")
def start_fleet(s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Fleet]]:
    """Start two replicas on a fresh bucket with the given extra flags; all are stopped at module end."""
    started: list[Replica] = []

    def start(*extra: str) -> Fleet:
        bucket = new_bucket_name()
        logs = tmp_path_factory.mktemp("fleet")
        a, b = (
            Replica(name, f"s3://{bucket}/{PREFIX}", s3_endpoint, logs / f"{name}.log", *extra) for name in ("a", "b")
        )
        a.launch()
        started.append(a)
        a.wait_ready()  # a creates the bucket, so b never races it
        b.launch()
        started.append(b)
        b.wait_ready()
        return Fleet(s3_endpoint, bucket, a, b)

    try:
        yield start
    finally:
        for replica in started:
            replica.stop()


async def wait_for(condition: Callable[[], Any], *, timeout: float, interval: float = 0.1) -> None:
    """Poll an async ``condition`` until it is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)
