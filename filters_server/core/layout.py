"""Where a resource's objects live in storage (see docs/architecture.md, "Storage invariants").

Every object a resource owns lives under ``images/<id>/``, so removing a resource is one
prefix delete on every backend. Beside that, one empty marker
``expiry/<expires, ms, 15 digits>/<id>`` is written *before* any of the resource's bytes: the
sweeper scans that time-ordered key space up to "now" and never lists the whole store, and
garbage from a crashed upload (media without metadata) is swept at its expiry like anything
else. Keys are built from server-made ids only, never from client input.
"""

from __future__ import annotations

IMAGES = "images/"
EXPIRY = "expiry/"
META_NAME = "meta.json"
MEDIA_NAME = "media"
RESULTS = "results/"


def resource_prefix(resource_id: str) -> str:
    return f"{IMAGES}{resource_id}/"


def media_key(resource_id: str) -> str:
    return f"{IMAGES}{resource_id}/{MEDIA_NAME}"


def meta_key(resource_id: str) -> str:
    return f"{IMAGES}{resource_id}/{META_NAME}"


def result_key(resource_id: str, name: str) -> str:
    return f"{IMAGES}{resource_id}/{RESULTS}{name}"


def expiry_key(expires: float, resource_id: str) -> str:
    return f"{EXPIRY}{int(expires * 1000):015d}/{resource_id}"


def parse_expiry_key(key: str) -> tuple[float, str]:
    """``expiry/000001700000000000/<id>`` -> (expires seconds, id)."""
    _, stamp, resource_id = key.split("/", 2)
    return int(stamp) / 1000, resource_id
