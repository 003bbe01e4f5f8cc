"""A development certificate for HTTPS on localhost: ``python -m filters_server.devcert DIR``.

Writes, into DIR, a one-off certificate authority (``ca.pem``, the file to trust) and a server
certificate for ``localhost``, ``127.0.0.1`` and ``::1`` signed by it (``server.pem`` and
``server-key.pem``, for ``--tls-cert``/``--tls-key``). The CA's private key is never written:
trusting ``ca.pem`` lets nobody mint further certificates, which is the risk of trusting a
developer CA (mkcert keeps its key). Files are reused until the server certificate is within
30 days of expiring. Needs the ``cryptography`` package (``pip install 'dsio-filters-server[tls]'``).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import ipaddress
import os
import sys
from collections.abc import Sequence
from pathlib import Path

CA_FILE = "ca.pem"
CERT_FILE = "server.pem"
KEY_FILE = "server-key.pem"
HOSTS = ("localhost", "127.0.0.1", "::1")
SERVER_DAYS = 397  # the longest lifetime browsers and macOS accept for a server certificate
RENEW_BEFORE = datetime.timedelta(days=30)


@dataclasses.dataclass(frozen=True)
class DevCert:
    ca: Path
    cert: Path
    key: Path


def paths(directory: str | os.PathLike[str]) -> DevCert:
    base = Path(directory)
    return DevCert(base / CA_FILE, base / CERT_FILE, base / KEY_FILE)


def ensure_devcert(
    directory: str | os.PathLike[str], *, hosts: Sequence[str] = HOSTS, force: bool = False
) -> tuple[DevCert, bool]:
    """The development certificate files in ``directory``, created if missing or expiring; (files, created)."""
    files = paths(directory)
    if not force and _usable(files):
        return files, False
    write_devcert(directory, hosts=hosts)
    return files, True


def _usable(files: DevCert) -> bool:
    from cryptography import x509

    if not (files.ca.is_file() and files.cert.is_file() and files.key.is_file()):
        return False
    try:
        cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    except ValueError:
        return False
    return cert.not_valid_after_utc - _now() > RENEW_BEFORE


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def write_devcert(directory: str | os.PathLike[str], *, hosts: Sequence[str] = HOSTS) -> DevCert:
    """Create a new CA and server certificate in ``directory`` (overwriting); the key file is mode 0600."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    files = paths(directory)
    files.ca.parent.mkdir(parents=True, exist_ok=True)
    now = _now() - datetime.timedelta(minutes=5)  # tolerate clocks slightly behind
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "dsio-filters-server development"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"dsio-filters-server dev CA {now:%Y-%m-%d %H:%M}"),
        ]
    )
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=SERVER_DAYS + 1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    server_key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=SERVER_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(server_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    pem = serialization.Encoding.PEM
    key_bytes = server_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    descriptor = os.open(files.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key_bytes)
    files.cert.write_bytes(server_cert.public_bytes(pem))
    files.ca.write_bytes(ca_cert.public_bytes(pem))
    return files


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m filters_server.devcert", description=__doc__.splitlines()[0])
    parser.add_argument("directory", help="where to keep ca.pem, server.pem and server-key.pem")
    parser.add_argument("--force", action="store_true", help="replace existing files")
    args = parser.parse_args(argv)
    try:
        files, created = ensure_devcert(args.directory, force=args.force)
    except ImportError:
        print("devcert needs the cryptography package: pip install 'dsio-filters-server[tls]'", file=sys.stderr)
        return 2
    print(
        f"{'created' if created else 'reusing'} development certificate for {', '.join(HOSTS)}:\n"
        f"  --tls-cert {files.cert} --tls-key {files.key}\n  trust: {files.ca}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
