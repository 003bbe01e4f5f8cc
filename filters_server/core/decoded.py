"""A bounded in-memory LRU of decoded source images, so repeated filters skip the PNG decode.

Decoding a stored PNG costs about as much as encoding a result; a client that tries several
filters or parameters on one image pays it once. Keyed by resource id and media ETag (media
never changes under an id), so entries can never be stale, only evicted. Arrays are marked
read-only: worker threads share them.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np


class DecodedImages:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.used = 0
        self._entries: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()

    def get(self, resource_id: str, etag: str) -> np.ndarray | None:
        image = self._entries.get((resource_id, etag))
        if image is not None:
            self._entries.move_to_end((resource_id, etag))
        return image

    def put(self, resource_id: str, etag: str, image: np.ndarray) -> None:
        if image.nbytes > self.max_bytes or (resource_id, etag) in self._entries:
            return
        image.flags.writeable = False
        self._entries[(resource_id, etag)] = image
        self.used += image.nbytes
        while self.used > self.max_bytes:
            _key, evicted = self._entries.popitem(last=False)
            self.used -= evicted.nbytes

    def __len__(self) -> int:
        return len(self._entries)
