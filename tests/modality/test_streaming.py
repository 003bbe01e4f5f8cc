"""The modality media is streamed into storage, never held whole by the Modality client."""

from __future__ import annotations

from filters_server.app import create_app
from filters_server.clients.modality import ModalityClient
from filters_server.core.layout import media_key
from filters_server.core.users import parse_users

from ..conftest import ALICE, USERS
from .conftest import SIM_PASSWORD, SIM_USER, create_modality

CHUNK = 16 * 1024


async def test_the_media_reaches_storage_in_many_bounded_chunks(
    aiohttp_client, settings, clock, store, sim_url, acquire
):
    users = parse_users(",".join(f"{u}:{p}" for u, p in USERS.items()))
    async with ModalityClient(sim_url, user=SIM_USER, password=SIM_PASSWORD, chunk_size=CHUNK) as modality:
        app = create_app(settings, storage=store, clock=clock, users=users, modality=modality)
        client = await aiohttp_client(app, headers=ALICE)
        session_id, image = await acquire()
        response = await create_modality(client, session_id, image["id"])
        assert response.status == 201, await response.text()
        resource_id = (await response.json())["id"]
    sizes = store.puts[media_key(resource_id)]
    assert len(sizes) > 4
    assert max(sizes) <= CHUNK
    assert sum(sizes) == (await store.stat(media_key(resource_id))).size
