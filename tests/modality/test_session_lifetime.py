"""A modality resource lives only while its Modality session is active."""

from __future__ import annotations

import asyncio

import pytest

from ..conftest import BASE, create, stored_keys

FILTER_CALLS = ["unmap", "select", "supreme", "ae"]


async def test_media_of_an_ended_session_is_410_then_the_resource_is_gone(filters, created, end_session, store, clock):
    session_id, body = await created()
    await end_session(session_id)
    clock.advance(60)  # past the session-check cache
    response = await filters.get(f"{BASE}/images/{body['id']}/media")
    assert response.status == 410
    assert "session" in (await response.json())["detail"]
    assert (await filters.get(f"{BASE}/images/{body['id']}/media")).status == 404
    assert stored_keys(store) == []


@pytest.mark.parametrize("name", FILTER_CALLS)
async def test_a_filter_on_an_ended_session_is_410_then_the_resource_is_gone(
    filters, created, end_session, store, clock, name
):
    session_id, body = await created()
    await end_session(session_id)
    clock.advance(60)
    assert (await filters.post(f"{BASE}/images/{body['id']}/filters/{name}")).status == 410
    assert (await filters.post(f"{BASE}/images/{body['id']}/filters/{name}")).status == 404
    assert stored_keys(store) == []


async def test_get_image_of_an_ended_session_is_410_then_404(filters, created, end_session, store, clock):
    session_id, body = await created()
    await end_session(session_id)
    clock.advance(60)
    assert (await filters.get(f"{BASE}/images/{body['id']}")).status == 410
    assert (await filters.get(f"{BASE}/images/{body['id']}")).status == 404
    assert stored_keys(store) == []


async def test_cached_filter_results_go_with_the_resource(filters, created, end_session, store, clock):
    session_id, body = await created()
    assert (await filters.post(f"{BASE}/images/{body['id']}/filters/unmap")).status == 200
    await end_session(session_id)
    clock.advance(60)
    assert (await filters.post(f"{BASE}/images/{body['id']}/filters/unmap")).status == 410
    assert stored_keys(store) == []


async def test_an_ended_session_is_noticed_only_after_the_cached_answer_expires(filters, created, end_session, clock):
    session_id, body = await created()
    assert (await filters.get(f"{BASE}/images/{body['id']}")).status == 200
    await end_session(session_id)
    assert (await filters.get(f"{BASE}/images/{body['id']}")).status == 200  # within the 5 s window
    clock.advance(5)
    assert (await filters.get(f"{BASE}/images/{body['id']}")).status == 410


async def test_a_modality_resource_can_be_deleted_after_its_session_ended(filters, created, end_session, store, clock):
    session_id, body = await created()
    await end_session(session_id)
    clock.advance(60)
    assert (await filters.delete(f"{BASE}/images/{body['id']}")).status == 204
    assert stored_keys(store) == []


async def test_a_burst_of_filter_calls_within_the_window_checks_the_session_once(filters, created, sim_log, clock):
    session_id, body = await created()
    clock.advance(60)
    before = sim_log.session_checks(session_id)
    for _ in range(8):
        assert (await filters.post(f"{BASE}/images/{body['id']}/filters/unmap")).status == 200
    assert sim_log.session_checks(session_id) == before + 1


async def test_concurrent_calls_share_one_session_check(filters, created, sim_log, clock):
    session_id, body = await created()
    clock.advance(60)
    before = sim_log.session_checks(session_id)
    responses = await asyncio.gather(*(filters.get(f"{BASE}/images/{body['id']}") for _ in range(8)))
    assert [r.status for r in responses] == [200] * 8
    assert sim_log.session_checks(session_id) == before + 1


async def test_the_session_is_checked_again_once_the_window_has_passed(filters, created, sim_log, clock):
    session_id, body = await created()
    clock.advance(60)
    before = sim_log.session_checks(session_id)
    await filters.get(f"{BASE}/images/{body['id']}")
    clock.advance(5)
    await filters.get(f"{BASE}/images/{body['id']}")
    assert sim_log.session_checks(session_id) == before + 2


async def test_an_unreachable_modality_api_does_not_remove_the_resource(filters, created, sim_server, store, clock):
    _session_id, body = await created()
    await sim_server.close()
    clock.advance(60)
    response = await filters.get(f"{BASE}/images/{body['id']}/media")
    assert response.status == 200
    assert (await filters.post(f"{BASE}/images/{body['id']}/filters/unmap")).status == 200
    assert any(key.endswith(f"{body['id']}/meta.json") for key in stored_keys(store))


async def test_uploaded_resources_never_ask_the_modality_api(filters, sim_log):
    body = await create(filters)
    assert (await filters.get(f"{BASE}/images/{body['id']}/media")).status == 200
    assert (await filters.post(f"{BASE}/images/{body['id']}/filters/unmap")).status == 200
    assert sim_log.requests == []
