"""Prometheus metrics an operator of a fleet relies on."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from filters_server.api import appkeys as keys

from .conftest import BASE, create, settle


async def scrape(client) -> dict[tuple[str, tuple], float]:
    response = await client.get("/metrics")
    assert response.status == 200
    samples = {}
    for family in text_string_to_metric_families(await response.text()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_need_no_credentials(anonymous):
    assert (await anonymous.get("/metrics")).status == 200


async def test_requests_are_counted_by_route_and_status(client):
    await create(client)
    await client.get(f"{BASE}/images/160c98f9-d188-4118-94c4-697161fd5caf")
    samples = await scrape(client)
    assert value(samples, "filters_http_requests_total", method="POST", route=f"{BASE}/images", status="201") == 1
    assert value(samples, "filters_http_requests_total", method="GET", route=f"{BASE}/images/{{id}}", status="404") == 1
    assert value(samples, "filters_http_request_duration_seconds_count", method="POST", route=f"{BASE}/images") == 1


async def test_stored_bytes_count_media_and_results(client, app):
    created = await create(client)
    await client.post(f"{BASE}/images/{created['id']}/filters/unmap")
    await settle(app)
    samples = await scrape(client)
    assert value(samples, "filters_stored_bytes_total", kind="media") > 0
    assert value(samples, "filters_stored_bytes_total", kind="result") > 0


async def test_cache_outcomes_are_counted(client, app):
    created = await create(client)
    for _ in range(3):
        await client.post(f"{BASE}/images/{created['id']}/filters/select")
        await settle(app)
    samples = await scrape(client)
    assert (
        value(samples, "filters_result_cache_total", outcome="miss"),
        value(samples, "filters_result_cache_total", outcome="hit"),
    ) == (1, 2)


async def test_worker_pool_size_is_exported(client, app):
    samples = await scrape(client)
    assert value(samples, "filters_workers") == app[keys.WORKERS].workers
    assert value(samples, "filters_workers_busy") == 0


async def test_sweeper_deletions_are_counted(aiohttp_client, make_app, clock, storage):
    import asyncio

    from .conftest import ALICE

    client = await aiohttp_client(make_app(storage, sweep_interval_seconds=0.05), headers=ALICE)
    await create(client)
    clock.advance(8 * 3600)
    for _ in range(100):
        if value(await scrape(client), "filters_sweeper_deleted_resources_total") == 1:
            break
        await asyncio.sleep(0.02)
    assert value(await scrape(client), "filters_sweeper_deleted_resources_total") == 1


async def test_filter_requests_are_labelled_by_filter_name(client, app):
    created = await create(client)
    await client.post(f"{BASE}/images/{created['id']}/filters/select")
    await client.post(f"{BASE}/images/{created['id']}/filters/ae")
    await settle(app)
    samples = await scrape(client)
    for name in ("select", "ae"):
        route = f"{BASE}/images/{{id}}/filters/{name}"
        assert value(samples, "filters_http_requests_total", method="POST", route=route, status="200") == 1
        assert value(samples, "filters_http_request_duration_seconds_count", method="POST", route=route) == 1


async def test_methods_the_api_does_not_use_share_one_series(client):
    """The HTTP parser accepts dozens of methods (any token, with aiohttp's pure-Python parser):
    labelling by each would let a client add series the operator never asked for."""
    for method in ("PROPFIND", "MKCOL", "SEARCH"):
        await client.request(method, f"{BASE}/images")
    samples = await scrape(client)
    methods = {dict(labels).get("method") for name, labels in samples if name == "filters_http_requests_total"}
    assert methods == {"OTHER"}
    assert value(samples, "filters_http_requests_total", method="OTHER", route="unmatched", status="405") == 3
