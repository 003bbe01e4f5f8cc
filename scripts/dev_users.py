"""Create a development users file once (``dev`` with a random password) and print the credentials."""

from __future__ import annotations

import os
import secrets
import sys


def main(path: str) -> None:
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(f"dev:{secrets.token_urlsafe(12)}\n")
    with open(path) as handle:
        name, _, password = handle.readline().strip().partition(":")
    print(f"Development credentials (from {path}): user {name!r}, password {password!r}")
    print(f"Try: curl -u {name}:{password} http://127.0.0.1:43809/api/dsio/filters/v1/openapi.yaml")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "var/dev-users.txt")
