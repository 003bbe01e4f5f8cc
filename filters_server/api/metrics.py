"""Prometheus metrics at ``/metrics``: what an operator of a fleet needs to see.

One registry per application (no process globals), so several apps in one
process (tests, the in-process test server) never share counters.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from filters_server.api.auth import public
from filters_server.core.result_bounds import ResultBounds
from filters_server.core.workers import WorkerPool
from filters_server.imaging import FILTER_NAMES

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "filters_http_requests", "HTTP requests answered", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "filters_http_request_duration_seconds",
            "Time to answer HTTP requests",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.uploads_in_flight = Gauge("filters_uploads_in_flight", "Uploads being received", registry=self.registry)
        self.bytes_stored = Counter(
            "filters_stored_bytes", "Bytes of media and results written to storage", ["kind"], registry=self.registry
        )
        self.swept = Counter(
            "filters_sweeper_deleted_resources", "Expired resources removed by the sweeper", registry=self.registry
        )
        self.storage_errors = Counter(
            "filters_storage_errors", "Storage operations that failed (answered 503)", registry=self.registry
        )
        self.cache = Counter(
            "filters_result_cache", "Filter requests by cache outcome", ["outcome"], registry=self.registry
        )
        # Hardening: bounds on stored results.
        self.results_evicted = Counter(
            "filters_result_cache_evicted_bytes",
            "Bytes of stored filter results removed to stay within the result bounds",
            registry=self.registry,
        )

    def watch_results(self, bounds: ResultBounds) -> None:
        """Export the bytes of stored results this process knows of (all of them on private storage)."""
        self.registry.register(_ResultsCollector(bounds))

    def watch_pool(self, pool: WorkerPool) -> None:
        """Export the worker pool's state at scrape time (no bookkeeping on the hot path)."""
        self.registry.register(_PoolCollector(pool))

    def expose(self) -> bytes:
        return generate_latest(self.registry)


class _PoolCollector(Collector):
    def __init__(self, pool: WorkerPool) -> None:
        self.pool = pool

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pool = self.pool
        yield GaugeMetricFamily("filters_workers", "Threads in the pixel worker pool", value=pool.workers)
        yield GaugeMetricFamily("filters_workers_busy", "Pixel jobs running", value=pool.busy)
        yield GaugeMetricFamily("filters_workers_queued", "Pixel jobs waiting for a worker", value=pool.queued)


class _ResultsCollector(Collector):
    def __init__(self, bounds: ResultBounds) -> None:
        self.bounds = bounds

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "filters_result_cache_stored_bytes",
            "Bytes of filter results in storage (storage only this process writes; 0 on shared storage)",
            value=self.bounds.stored_bytes,
        )


METRICS = web.AppKey("metrics", Metrics)


def route_label(request: web.BaseRequest) -> str:
    """The matched route's template, never an id; a filter route names its filter.

    ``/images/{id}/filters/select`` rather than ``.../filters/{name}``, so each filter has its
    own series: bounded, as only the known filter names match that route.
    """
    match_info = getattr(request, "_match_info", None)  # None for requests refused before routing
    resource = match_info.route.resource if match_info is not None else None
    if match_info is None or resource is None:
        return "unmatched"
    template: str = resource.canonical
    name = match_info.get("name")
    if name in FILTER_NAMES and "{name}" in template:
        template = template.replace("{name}", name)
    return template


# Methods with a series of their own; any other the parser lets through is counted as OTHER.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def metrics_middleware(metrics: Metrics) -> Middleware:
    # The labelled children, looked up once each: labels() validates and locks on every call, a
    # few per cent of a metadata request. Bounded: methods, routes and statuses are.
    series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            method = request.method if request.method in METHODS else "OTHER"
            key = (method, route_label(request), status)
            children = series.get(key)
            if children is None:
                children = series[key] = (
                    metrics.requests.labels(method, key[1], str(status)),
                    metrics.latency.labels(method, key[1]),
                )
            children[0].inc()
            children[1].observe(time.perf_counter() - started)

    return middleware


@public
async def metrics_handler(request: web.Request) -> web.Response:
    body = request.app[METRICS].expose()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
