"""POST /images/modality within the server's limits: the pixelHash check holds pixel memory too."""

from __future__ import annotations

from ..conftest import stored_keys
from .conftest import create_modality


async def test_an_image_too_large_for_the_pixel_budget_is_413_and_stores_nothing(filters_for, sim_url, acquire, store):
    client = await filters_for(sim_url, max_decoded_bytes=1)
    session_id, image = await acquire()
    response = await create_modality(client, session_id, image["id"])
    assert response.status == 413
    assert response.content_type == "application/problem+json"
    assert stored_keys(store) == []
