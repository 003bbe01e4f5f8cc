"""What an image resource is, and where its objects live in storage.

Every object a resource owns lives under ``images/<id>/`` (invariant 4), so
removing a resource is one prefix delete on every backend. Beside that, one
empty marker ``expiry/<expires, ms, 15 digits>/<id>`` is written *before* any
of the resource's bytes: the sweeper scans that time-ordered key space up to
"now" and never lists the whole store, and garbage from a crashed upload (media
without metadata) is swept at its expiry like anything else.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import uuid
from datetime import datetime, timezone
from typing import Any

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


def new_id() -> str:
    return str(uuid.uuid4())


def parse_id(text: str) -> str | None:
    """The canonical form of a resource id, or None if it cannot be one of ours."""
    try:
        parsed = uuid.UUID(text)
    except (ValueError, AttributeError, TypeError):
        return None
    canonical = str(parsed)
    return canonical if canonical == text.lower() else None


@functools.lru_cache(maxsize=8192)  # every GET formats the same two instants again
def format_timestamp(seconds: float) -> str:
    """ISO 8601 UTC with milliseconds and ``Z``, as the vendor service writes them."""
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclasses.dataclass(frozen=True)
class Resource:
    """Metadata of one image resource, stored as ``images/<id>/meta.json``."""

    id: str
    owner: str
    created_on: float
    expires: float
    image_info: dict[str, Any]
    media_type: str
    media_size: int
    media_etag: str
    width: int
    height: int
    modality_session: dict[str, str] | None = None

    def to_json(self) -> bytes:
        return json.dumps(dataclasses.asdict(self), separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Resource:
        fields = json.loads(data)
        return cls(**{f.name: fields[f.name] for f in dataclasses.fields(cls) if f.name in fields})

    @property
    def binned(self) -> bool:
        return self.image_info.get("acquisitionInfo", {}).get("binning") == "Binned2x2"

    def expired(self, now: float) -> bool:
        return now >= self.expires

    def representation(self, media_url: str) -> dict[str, Any]:
        """The spec's ImageResource.

        ``modalitySession`` is ``null`` for uploads, as the vendor's ASP.NET service writes an
        absent object (its default serializer settings) and as clients already parse it.
        """
        return {
            "id": self.id,
            "mediaType": self.media_type,
            "url": media_url,
            "createdOn": format_timestamp(self.created_on),
            "expires": format_timestamp(self.expires),
            "imageInfo": self.image_info,
            "modalitySession": self.modality_session,
        }
