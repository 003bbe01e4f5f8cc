"""``filters-server`` / ``python -m filters_server``: run the server."""

from __future__ import annotations

import ssl
import sys
from collections.abc import Sequence

from filters_server.allocator import tune_allocator
from filters_server.app import create_app, load_users
from filters_server.config import load_settings
from filters_server.core.users import hash_password
from filters_server.processes import serve
from filters_server.tls import server_ssl_context


def main(argv: Sequence[str] | None = None) -> int:
    settings, namespace = load_settings(argv)
    if namespace.hash_password is not None:
        print(hash_password(namespace.hash_password))
        return 0
    try:
        users = load_users(settings)
    except (OSError, ValueError) as exc:
        print(f"filters-server: cannot read users: {exc}", file=sys.stderr)
        return 2
    if not users:
        print(
            "filters-server: no users configured; set --users name:password or --users-file FILE "
            "(the API is never served without authentication)",
            file=sys.stderr,
        )
        return 2
    ssl_context = None
    if settings.tls_cert and settings.tls_key:
        try:
            ssl_context = server_ssl_context(settings.tls_cert, settings.tls_key)
        except (OSError, ssl.SSLError) as exc:
            print(f"filters-server: cannot use the TLS certificate/key: {exc}", file=sys.stderr)
            return 2
    tune_allocator()  # before any pool or buffer exists; glibc only (a no-op elsewhere)
    try:
        app = create_app(settings, users=users)
    except ValueError as exc:  # e.g. s3:// storage without the [s3] extra installed
        print(f"filters-server: {exc}", file=sys.stderr)
        return 2
    return serve(settings, users, ssl_context, app)


if __name__ == "__main__":
    sys.exit(main())
