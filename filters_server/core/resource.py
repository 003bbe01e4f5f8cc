"""What an image resource is: its metadata, its id, and how it is represented to clients.

Where its objects live in storage is :mod:`filters_server.core.layout`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any


def new_id() -> str:
    return str(uuid.uuid4())


# The only form new_id() writes (str of a UUID), in either case: 8-4-4-4-12 ASCII hex digits.
_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE | re.ASCII)


def parse_id(text: str) -> str | None:
    """The canonical form of a resource id, or None if it cannot be one of ours.

    A pattern, not uuid.UUID(): every request with an id in its path runs this, and UUID() also
    accepts braces, ``urn:uuid:`` and non-ASCII digits that would then have to be turned away.
    """
    return text.lower() if isinstance(text, str) and _ID.fullmatch(text) else None


@functools.lru_cache(maxsize=8192)  # every GET formats the same two instants again
def format_timestamp(seconds: float) -> str:
    """ISO 8601 UTC with milliseconds and ``Z``, as the vendor service writes them."""
    moment = datetime.fromtimestamp(seconds, tz=UTC)
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
    dicom: dict[str, Any] | None = None  # patient/study attributes from the upload (DICOM JSON), if any

    def to_json(self) -> bytes:
        return json.dumps(dataclasses.asdict(self), separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Resource:
        fields = json.loads(data)
        return cls(**{f.name: fields[f.name] for f in dataclasses.fields(cls) if f.name in fields})

    @property
    def binned(self) -> bool:
        binning: object = self.image_info.get("acquisitionInfo", {}).get("binning")
        return binning == "Binned2x2"

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

    def representation_json(self, media_url: str) -> bytes:
        """``json.dumps(representation(media_url))``, encoded; the parts around the url are
        encoded once per resource (a metadata GET spent a tenth of its time re-encoding them)."""
        head, tail = self._json_around_url
        return head + json.dumps(media_url).encode() + tail

    @functools.cached_property
    def _json_around_url(self) -> tuple[bytes, bytes]:
        # The url comes before imageInfo, the only client-supplied part, so the first occurrence
        # of the (escaped, hence unmistakable) placeholder is the url's.
        placeholder = json.dumps("\0url\0")
        head, found, tail = json.dumps(self.representation("\0url\0")).partition(placeholder)
        assert found
        return head.encode(), tail.encode()
