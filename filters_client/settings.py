"""Where the client connects and as whom: arguments, else the environment, else ``~/.netrc``.

Nothing secret ever needs to be on a command line.
"""

from __future__ import annotations

import dataclasses
import netrc
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

DEFAULT_URL = "http://127.0.0.1:43809/api/dsio/filters/v1"
ENV_URL = "DSIO_FILTERS_URL"
ENV_USER = "DSIO_FILTERS_USER"
ENV_PASSWORD = "DSIO_FILTERS_PASSWORD"


@dataclasses.dataclass(frozen=True)
class Timeouts:
    """Seconds; None: no limit. ``read`` is per socket read, so a long download is fine while bytes flow."""

    connect: float | None = 10.0
    read: float | None = 300.0  # a filter queued behind others on a busy server takes a while
    total: float | None = None


@dataclasses.dataclass(frozen=True)
class Credentials:
    user: str
    password: str
    source: str  # "arguments", "environment" or the netrc file's path: said in errors, never the secret

    def __repr__(self) -> str:
        return f"Credentials(user={self.user!r}, password=***, source={self.source!r})"


class CredentialsError(ValueError):
    """Credentials were asked for but cannot be completed (e.g. a user without any password)."""


def resolve_url(url: str | None, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    chosen = url or env.get(ENV_URL) or DEFAULT_URL
    parts = urlsplit(chosen)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"the service URL must be http:// or https:// with a host, not {chosen!r}")
    return chosen.rstrip("/")


def default_netrc_path(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return env.get("NETRC") or os.path.join(os.path.expanduser("~"), ".netrc")


def resolve_credentials(
    url: str,
    user: str | None = None,
    password: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    netrc_file: str | os.PathLike[str] | None = None,
) -> Credentials | None:
    """Arguments win, then ``DSIO_FILTERS_USER``/``DSIO_FILTERS_PASSWORD``, then the netrc entry for the URL's host.

    Each of user and password is taken from the first place that has it; a netrc entry is used
    only when its login agrees with a user given elsewhere. None when nothing names a user.
    """
    env = os.environ if env is None else env
    source = "arguments"  # where the password came from
    if user is None and env.get(ENV_USER):
        user = env[ENV_USER]
    if password is None and ENV_PASSWORD in env:
        password, source = env[ENV_PASSWORD], "environment"
    if user is None or password is None:
        entry = _netrc_entry(urlsplit(url).hostname or "", netrc_file, env)
        if entry is not None:
            login, secret, path = entry
            if user is None or user == login:
                user = login
                if password is None:
                    password, source = secret, path
    if user is None:
        return None
    if password is None:
        raise CredentialsError(f"no password for user {user!r}: set {ENV_PASSWORD} or add the host to your netrc file")
    return Credentials(user, password, source)


def _netrc_entry(host: str, path: str | os.PathLike[str] | None, env: Mapping[str, str]) -> tuple[str, str, str] | None:
    file = os.fspath(path) if path is not None else default_netrc_path(env)
    if not os.path.exists(file):
        return None
    try:
        found = netrc.netrc(file).authenticators(host)
    except (netrc.NetrcParseError, OSError) as exc:
        raise CredentialsError(f"cannot read {file}: {exc}") from None
    if found is None:
        return None
    login, _account, secret = found
    if not login:
        return None
    return login, secret or "", file
