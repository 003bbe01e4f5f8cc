"""The server side of HTTPS: an ``ssl.SSLContext`` from PEM files, TLS 1.2 or newer only."""

from __future__ import annotations

import ssl


def server_ssl_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """A server context for ``--tls-cert``/``--tls-key``; raises ``OSError``/``ssl.SSLError`` if unusable.

    ``create_default_context`` gives the interpreter's vetted cipher list; we only raise
    the floor to TLS 1.2, as the vendor's Windows service (Kestrel) does by default.
    """
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context
