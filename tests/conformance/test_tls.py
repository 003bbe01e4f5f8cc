"""HTTPS: --tls-cert/--tls-key, TLS 1.2+, and the development certificate from filters_server.devcert."""

from __future__ import annotations

import ssl

import aiohttp
import pytest

from filters_server.config import Settings, load_settings
from filters_server.devcert import ensure_devcert
from filters_server.testing import FiltersTestServer
from filters_server.tls import server_ssl_context


@pytest.fixture(scope="module")
def devcert(tmp_path_factory):
    files, created = ensure_devcert(tmp_path_factory.mktemp("tls"))
    assert created
    return files


@pytest.fixture
async def https_server(devcert):
    context = server_ssl_context(str(devcert.cert), str(devcert.key))
    async with FiltersTestServer(Settings(storage="memory://"), ssl_context=context) as server:
        yield server


async def test_a_client_trusting_the_dev_ca_gets_answers_over_https(https_server, devcert):
    assert https_server.base_url.startswith("https://127.0.0.1:")
    trusting = ssl.create_default_context(cafile=str(devcert.ca))
    async with aiohttp.ClientSession(headers=https_server.headers) as http:
        async with http.get(https_server.url("/"), ssl=trusting) as response:
            assert response.status == 200
        async with http.get(https_server.url("/images/00000000-0000-4000-8000-000000000000"), ssl=trusting) as response:
            assert response.status == 404


async def test_a_client_that_does_not_trust_the_certificate_is_refused(https_server):
    untrusting = ssl.create_default_context()  # system roots only
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await http.get(https_server.url("/"), ssl=untrusting)


def test_the_server_context_refuses_anything_older_than_tls_1_2(devcert):
    context = server_ssl_context(str(devcert.cert), str(devcert.key))
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2


def test_the_certificate_names_localhost_and_both_loopback_addresses(devcert):
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(devcert.cert.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}


def test_the_private_key_is_readable_by_its_owner_only(devcert):
    assert devcert.key.stat().st_mode & 0o077 == 0


def test_existing_certificates_are_reused(devcert):
    before = devcert.cert.read_bytes()
    _files, created = ensure_devcert(devcert.cert.parent)
    assert not created and devcert.cert.read_bytes() == before


def test_tls_flags_and_environment_set_the_files():
    settings, _ = load_settings(["--tls-cert", "c.pem"], {"FILTERS_TLS_KEY": "k.pem"})
    assert (settings.tls_cert, settings.tls_key) == ("c.pem", "k.pem")


def test_a_certificate_without_a_key_is_a_usage_error():
    with pytest.raises(SystemExit):
        load_settings(["--tls-cert", "c.pem"], {})
