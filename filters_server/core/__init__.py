"""The domain: resources and their lifetimes, ingest, the result cache, workers.

No HTTP here: no ``aiohttp``, no status codes. Failures are the exceptions of
:mod:`filters_server.core.errors`, which the API layer maps to answers. See
docs/architecture.md.
"""
