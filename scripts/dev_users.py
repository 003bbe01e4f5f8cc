"""Create a development users file once (``dev`` with a random password) and print the credentials.

    python scripts/dev_users.py [PATH] [--tls]

``--tls`` (``make run-tls``) prints the https:// command that trusts the development CA.
"""

from __future__ import annotations

import argparse
import os
import secrets

TLS_CA = "var/tls/ca.pem"  # written by `python -m filters_server.devcert var/tls` (make run-tls)


def main(path: str, *, tls: bool = False) -> None:
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(f"dev:{secrets.token_urlsafe(12)}\n")
    with open(path) as handle:
        name, _, password = handle.readline().strip().partition(":")
    print(f"Development credentials (from {path}): user {name!r}, password {password!r}")
    if tls:
        url, trust = "https://127.0.0.1:43809/api/dsio/filters/v1/openapi.yaml", f"--cacert {TLS_CA} "
    else:
        url, trust = "http://127.0.0.1:43809/api/dsio/filters/v1/openapi.yaml", ""
    print(f"Try: curl {trust}-u {name}:{password} {url}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default="var/dev-users.txt")
    parser.add_argument("--tls", action="store_true", help="print the https:// hint of make run-tls")
    arguments = parser.parse_args()
    main(arguments.path, tls=arguments.tls)
