"""The bounded cache of decoded source images."""

from __future__ import annotations

import numpy as np

from filters_server.core.decoded import DecodedImages


def image(value: int) -> np.ndarray:
    return np.full((10, 10), value, np.uint16)  # 200 bytes


def test_a_cached_image_is_returned_read_only():
    cache = DecodedImages(1000)
    cache.put("a", "e1", image(1))
    got = cache.get("a", "e1")
    assert got is not None and not got.flags.writeable


def test_another_etag_is_a_miss():
    cache = DecodedImages(1000)
    cache.put("a", "e1", image(1))
    assert cache.get("a", "e2") is None


def test_the_least_recently_used_image_is_evicted_to_stay_within_the_budget():
    cache = DecodedImages(450)
    cache.put("a", "e", image(1))
    cache.put("b", "e", image(2))
    cache.get("a", "e")
    cache.put("c", "e", image(3))
    assert cache.get("b", "e") is None and cache.get("a", "e") is not None
    assert cache.used <= 450


def test_an_image_larger_than_the_budget_is_not_kept():
    cache = DecodedImages(100)
    cache.put("a", "e", image(1))
    assert len(cache) == 0
