"""``filters-server`` / ``python -m filters_server``: run the server."""

from __future__ import annotations

import json
import logging
import ssl
import sys
from collections.abc import Sequence

from filters_server.app import load_users
from filters_server.config import load_settings
from filters_server.core.users import hash_password
from filters_server.processes import serve
from filters_server.tls import server_ssl_context


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(level: str, fmt: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter() if fmt == "json" else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)


def main(argv: Sequence[str] | None = None) -> int:
    settings, namespace = load_settings(argv)
    if namespace.hash_password is not None:
        print(hash_password(namespace.hash_password))
        return 0
    configure_logging(settings.log_level, settings.log_format)
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
    log = logging.getLogger("filters_server")
    log.info(
        "serving %s://%s:%d%s/ for users %s with storage %s (%d process%s)",
        "https" if ssl_context else "http",
        settings.host,
        settings.port,
        settings.base_path,
        ", ".join(sorted(users)),
        settings.storage,
        settings.processes,
        "" if settings.processes == 1 else "es",
    )
    return serve(settings, users, ssl_context)


if __name__ == "__main__":
    sys.exit(main())
