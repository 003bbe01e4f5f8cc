"""Where URL and credentials come from: arguments, environment, netrc; and TLS options."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from filters_client import (
    DEFAULT_URL,
    CredentialsError,
    FiltersClient,
    NotFound,
    RetryPolicy,
    TLSError,
    Unauthorized,
)
from filters_client.settings import resolve_credentials, resolve_url
from filters_server.testing import TEST_PASSWORD, TEST_USER, FiltersTestServer

UNKNOWN = "3b0f4b52-0000-4000-8000-000000000000"


def write_netrc(path: Path, host: str, login: str, password: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"machine {host}\n  login {login}\n  password {password}\n")
    os.chmod(path, 0o600)
    return path


async def authorised(client: FiltersClient) -> bool:
    """True if the server accepts the client's credentials (404 for an unknown id, not 401)."""
    try:
        await client.get(UNKNOWN)
    except Unauthorized:
        return False
    except NotFound:
        return True
    return True


def test_the_default_url_is_the_local_service(no_env: None) -> None:
    assert resolve_url(None) == DEFAULT_URL == "http://127.0.0.1:43809/api/dsio/filters/v1"


def test_the_url_comes_from_the_environment(no_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DSIO_FILTERS_URL", "https://filters.example:8443/api/dsio/filters/v1/")
    assert resolve_url(None) == "https://filters.example:8443/api/dsio/filters/v1"


async def test_credentials_from_the_environment(
    server: FiltersTestServer, no_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DSIO_FILTERS_URL", server.base_url)
    monkeypatch.setenv("DSIO_FILTERS_USER", TEST_USER)
    monkeypatch.setenv("DSIO_FILTERS_PASSWORD", TEST_PASSWORD)
    async with FiltersClient() as client:
        assert await authorised(client)


async def test_credentials_from_a_netrc_file_argument(server: FiltersTestServer, no_env: None, tmp_path: Path) -> None:
    netrc = write_netrc(tmp_path / "netrc", "127.0.0.1", TEST_USER, TEST_PASSWORD)
    async with FiltersClient(server.base_url, netrc_file=netrc) as client:
        assert client.credentials is not None and client.credentials.source == str(netrc)
        assert await authorised(client)


async def test_credentials_from_the_home_netrc(server: FiltersTestServer, no_env: None, tmp_path: Path) -> None:
    write_netrc(Path(os.environ["HOME"]) / ".netrc", "127.0.0.1", TEST_USER, TEST_PASSWORD)
    async with FiltersClient(server.base_url) as client:
        assert await authorised(client)


def test_a_netrc_entry_for_another_host_is_not_used(no_env: None, tmp_path: Path) -> None:
    netrc = write_netrc(tmp_path / "netrc", "elsewhere.example", TEST_USER, TEST_PASSWORD)
    assert resolve_credentials("http://127.0.0.1:1/api", netrc_file=netrc) is None


def test_arguments_win_over_the_environment(no_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DSIO_FILTERS_USER", "env-user")
    monkeypatch.setenv("DSIO_FILTERS_PASSWORD", "env-password")
    found = resolve_credentials(DEFAULT_URL, "arg-user", "arg-password")
    assert found is not None and (found.user, found.password) == ("arg-user", "arg-password")


def test_the_environment_wins_over_netrc(no_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    netrc = write_netrc(tmp_path / "netrc", "127.0.0.1", "netrc-user", "netrc-password")
    monkeypatch.setenv("DSIO_FILTERS_USER", "env-user")
    monkeypatch.setenv("DSIO_FILTERS_PASSWORD", "env-password")
    found = resolve_credentials(DEFAULT_URL, netrc_file=netrc)
    assert found is not None and (found.user, found.password) == ("env-user", "env-password")


def test_a_user_without_any_password_is_an_error(no_env: None) -> None:
    with pytest.raises(CredentialsError, match="DSIO_FILTERS_PASSWORD"):
        resolve_credentials(DEFAULT_URL, "someone")


def test_the_password_is_never_in_the_repr(no_env: None) -> None:
    found = resolve_credentials(DEFAULT_URL, "someone", "s3cret")
    assert "s3cret" not in repr(found)


async def test_no_credentials_gets_unauthorized(server: FiltersTestServer, no_env: None) -> None:
    async with FiltersClient(server.base_url, retry=RetryPolicy(retries=0)) as client:
        assert client.credentials is None
        assert not await authorised(client)


# --- TLS ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def devcert(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    pytest.importorskip("cryptography", reason="the development certificate needs cryptography (the [tls] extra)")
    from filters_server.devcert import ensure_devcert

    files, _ = ensure_devcert(tmp_path_factory.mktemp("tls"))
    return files


@pytest.fixture
async def https_server(devcert):  # type: ignore[no-untyped-def]
    from filters_server.config import Settings
    from filters_server.tls import server_ssl_context

    context = server_ssl_context(str(devcert.cert), str(devcert.key))
    async with FiltersTestServer(Settings(storage="memory://"), ssl_context=context) as server:
        yield server


async def test_https_with_the_ca_file(https_server: FiltersTestServer, devcert: Any, no_env: None) -> None:
    async with FiltersClient(https_server.base_url, ca_file=devcert.ca) as client:
        assert (await client.check())["apiVersion"] == "1.0"


async def test_https_with_an_untrusted_certificate_is_a_tls_error(
    https_server: FiltersTestServer, no_env: None
) -> None:
    async with FiltersClient(https_server.base_url, retry=RetryPolicy(retries=3)) as client:
        with pytest.raises(TLSError):
            await client.check()


async def test_https_without_verification(https_server: FiltersTestServer, no_env: None) -> None:
    async with FiltersClient(https_server.base_url, verify=False) as client:
        assert (await client.check())["apiVersion"] == "1.0"
