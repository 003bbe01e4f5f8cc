"""The HTTP layer: everything that speaks HTTP, and the only user of ``aiohttp.web``.

Route handlers, multipart and JSON bodies, schemas, media and ranges, content negotiation,
problem documents and the error table, authentication, metrics and app keys. Handlers are
thin: they parse, call :mod:`filters_server.core`, and respond. See docs/architecture.md.
"""
