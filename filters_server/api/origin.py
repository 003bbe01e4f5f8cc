"""The origin (scheme://host[:port]) this server names itself by in the ``url`` of a resource.

A client's ``Host`` header is never trusted blindly: echoing it would let anyone make the server
hand out links to their own host. The origin is ``--public-url`` if configured; else the
request's scheme and ``Host`` when the host name is one of ``--allowed-hosts`` and its port is a
valid port; else the local address the connection arrived on. Computing it never fails, whatever
the ``Host`` header holds.
"""

from __future__ import annotations

import re

from aiohttp import web

from filters_server.api import appkeys as keys

# What a host name, an IPv4 address or (inside brackets) an IPv6 address is made of. A pattern, not
# a loop over the characters: this runs on every answer that carries a resource's url.
_HOST_NAME = re.compile(r"[A-Za-z0-9._:-]+")


def server_origin(request: web.Request) -> str:
    settings = request.app[keys.SETTINGS]
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host = request.headers.get("Host", "")
    name, _port = split_host(host)
    if name is not None and name.lower() in settings.allowed_host_names:
        return f"{request.scheme}://{host}"
    return f"{request.scheme}://{_socket_origin(request, settings.host, settings.port)}"


def split_host(host: str) -> tuple[str | None, int | None]:
    """``name[:port]`` or ``[v6]:port`` -> (name, port); (None, None) unless well-formed with a valid port."""
    if host.startswith("["):
        name, bracket, rest = host[1:].partition("]")
        if not bracket or not name:
            return None, None
        port_text = rest.removeprefix(":") if rest.startswith(":") else None
        if rest and port_text is None:
            return None, None
    else:
        name, colon, port_text_ = host.partition(":")
        port_text = port_text_ if colon else None
        if not name or ":" in port_text_:
            return None, None
    if not _HOST_NAME.fullmatch(name):
        return None, None
    if port_text is None:
        return name, None
    if not (port_text.isascii() and port_text.isdigit() and len(port_text) <= 5 and 0 < int(port_text) < 65536):
        return None, None
    return name, int(port_text)


def _socket_origin(request: web.Request, fallback_host: str, fallback_port: int) -> str:
    """``host:port`` of the local end of the request's connection (never the client's say-so)."""
    transport = request.transport
    sockname = transport.get_extra_info("sockname") if transport is not None else None
    if isinstance(sockname, tuple) and len(sockname) >= 2:
        address, port = str(sockname[0]), int(sockname[1])
    else:
        address, port = fallback_host, fallback_port
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
