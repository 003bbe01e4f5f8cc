"""``python -m filters_server.healthcheck``: exit 0 if the local server answers ``/healthz``, else 1.

The container image's HEALTHCHECK: it has no curl, and it must work whether the server speaks
HTTP or HTTPS. It reads the same ``FILTERS_*`` variables as the server: the port, and whether a
certificate is configured (then HTTPS to the loopback address; the certificate names the
public host, not 127.0.0.1, so it is not verified: this probe only asks "is it alive?").
"""

from __future__ import annotations

import os
import ssl
import sys
import urllib.request
from collections.abc import Mapping

from filters_server.config import DEFAULT_PORT

TIMEOUT_SECONDS = 4.0


def probe_url(environ: Mapping[str, str]) -> str:
    scheme = "https" if environ.get("FILTERS_TLS_CERT") else "http"
    port = environ.get("FILTERS_PORT", str(DEFAULT_PORT))
    return f"{scheme}://127.0.0.1:{port}/healthz"


def main(environ: Mapping[str, str] | None = None) -> int:
    url = probe_url(os.environ if environ is None else environ)
    # Liveness only: the certificate names the public host, not 127.0.0.1.
    context = ssl._create_unverified_context() if url.startswith("https") else None
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS, context=context) as response:
            return 0 if response.status == 200 else 1
    except (OSError, ValueError) as exc:
        print(f"healthcheck: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
