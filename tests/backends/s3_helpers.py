"""Helpers shared by the S3 fixtures and tests (kept out of conftest so tests can import them)."""

from __future__ import annotations

import uuid
from typing import Any

from backends.s3 import S3Storage


def new_bucket_name() -> str:
    return f"t-{uuid.uuid4().hex[:20]}"


async def make_s3_storage(endpoint: str, **options: Any) -> S3Storage:
    """A started S3Storage on a fresh bucket, under a non-empty key prefix."""
    storage = S3Storage(
        new_bucket_name(), "under/test", endpoint_url=endpoint, region="us-east-1", create_bucket=True, **options
    )
    await storage.start()
    return storage
