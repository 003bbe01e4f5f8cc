"""One Settings object, from command-line flags and ``FILTERS_*`` environment variables.

Every option has one name: flag ``--max-upload-bytes`` is environment variable
``FILTERS_MAX_UPLOAD_BYTES``. A flag given on the command line wins over the
environment, which wins over the default.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
from collections.abc import Mapping, Sequence
from typing import Any

from filters_server import __version__

DEFAULT_PORT = 43809
DEFAULT_BASE_PATH = "/api/dsio/filters/v1"


def _bool(value: str | bool) -> bool:
    if isinstance(value, bool):
        return value
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise argparse.ArgumentTypeError(f"expected a boolean, got {value!r}")


def _positive_int(value: str | int) -> int:
    number = int(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


def _non_negative_int(value: str | int) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {value!r}")
    return number


def _non_negative_float(value: str | float) -> float:
    number = float(value)
    if not number >= 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative number, got {value!r}")
    return number


def _positive_float(value: str | float) -> float:
    number = float(value)
    if not number > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value!r}")
    return number


def _processes(value: str | int) -> int:
    if isinstance(value, str) and value.strip().lower() == "auto":
        return os.cpu_count() or 1
    return _positive_int(value)


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything the server can be told. Field names are the option names."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    base_path: str = DEFAULT_BASE_PATH
    storage: str = "file:var/storage"
    users: str | None = None
    users_file: str | None = None
    ttl_seconds: int = 8 * 3600
    sweep_interval_seconds: float = 60.0
    max_upload_bytes: int = 256 * 1024 * 1024
    max_pixels: int = 100_000_000
    max_json_bytes: int = 1024 * 1024
    public_url: str | None = None
    workers: int = 0  # 0: one per CPU
    decoded_cache_bytes: int = 256 * 1024 * 1024
    queue_depth: int = 4
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_create_bucket: bool = False
    modality_url: str | None = None
    modality_user: str | None = None
    modality_password: str | None = None
    modality_ca_file: str | None = None
    modality_insecure: bool = False
    modality_timeout_seconds: float = 30.0
    modality_session_check_seconds: float = 5.0
    log_level: str = "info"
    log_format: str = "text"
    tls_cert: str | None = None
    tls_key: str | None = None
    # Abusive and slow clients: every limit below is one flag.
    body_timeout_seconds: float = 30.0
    keepalive_timeout_seconds: float = 75.0
    max_request_line_bytes: int = 8190
    max_header_bytes: int = 8190
    max_headers: int = 128
    max_parts: int = 8
    max_ranges: int = 16
    # Performance: all cores on one machine.
    processes: int = 1
    # The browser viewer (docs/viewer.md).
    viewer: bool = True
    # Hardening: limits and deadlines.
    allowed_hosts: str = "localhost,127.0.0.1,::1"
    storage_timeout_seconds: float = 30.0
    min_free_bytes: int = 64 * 1024 * 1024
    max_upload_seconds: float = 600.0
    max_connections: int = 1024
    max_decoded_bytes: int = 1024 * 1024 * 1024
    max_results_bytes_per_image: int = 32 * 1024 * 1024
    max_results_bytes: int = 4 * 1024 * 1024 * 1024
    # Authentication under attack.
    auth_hash_threads: int = 2
    auth_queue_depth: int = 16
    auth_cache_size: int = 1024
    auth_cache_seconds: float = 300.0
    auth_max_failures_per_user: int = 5
    auth_max_failures_per_address: int = 20
    auth_failure_window_seconds: float = 60.0

    def __post_init__(self) -> None:
        if not self.base_path.startswith("/") or (self.base_path.endswith("/") and self.base_path != "/"):
            raise ValueError(f"base path must start and not end with '/': {self.base_path!r}")
        if self.log_format not in ("text", "json"):
            raise ValueError(f"log format must be 'text' or 'json', not {self.log_format!r}")
        if self.modality_url is not None and not self.modality_url.startswith(("http://", "https://")):
            raise ValueError(f"modality URL must be http:// or https://, not {self.modality_url!r}")
        if self.modality_insecure and self.modality_ca_file:
            raise ValueError("--modality-insecure and --modality-ca-file contradict each other")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("--tls-cert and --tls-key go together")
        if self.processes > 1 and self.storage.startswith("memory:"):
            raise ValueError("--processes above 1 needs storage all processes share (file: or s3://), not memory://")
        if self.max_upload_seconds >= self.ttl_seconds:
            # An upload must end while its resource can still live: else it would be born expired.
            raise ValueError(
                f"--max-upload-seconds ({self.max_upload_seconds:g}) must be less than "
                f"--ttl-seconds ({self.ttl_seconds})"
            )

    @functools.cached_property  # read on every request that names a resource url
    def allowed_host_names(self) -> frozenset[str]:
        """``--allowed-hosts`` as lower-case names (IPv6 addresses without brackets)."""
        names = (name.strip().lower().removeprefix("[").removesuffix("]") for name in self.allowed_hosts.split(","))
        return frozenset(name for name in names if name)

    @property
    def worker_count(self) -> int:
        return self.workers or os.cpu_count() or 1

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


# name -> (argparse type, help). Defaults come from the dataclass.
_OPTIONS: dict[str, tuple[Any, str]] = {
    "host": (str, "interface to listen on"),
    "port": (_positive_int, "TCP port"),
    "base_path": (str, "path prefix of the API"),
    "storage": (str, "memory://, file:///abs/path, file:relative/path or s3://bucket/prefix"),
    "users": (str, "API users as name:password[,name:password...]"),
    "users_file": (str, "file with one name:password or name:<pbkdf2 hash> a line"),
    "ttl_seconds": (_positive_int, "lifetime of an image resource"),
    "sweep_interval_seconds": (_positive_float, "how often expired resources are removed"),
    "max_upload_bytes": (_positive_int, "largest accepted upload body"),
    "max_pixels": (_positive_int, "largest accepted image (width x height)"),
    "max_json_bytes": (_positive_int, "largest accepted JSON document (imageInfo part, filter body)"),
    "public_url": (str, "external origin for resource URLs, e.g. https://filters.example.com"),
    "workers": (_non_negative_int, "threads for pixel work (0: one per CPU)"),
    "decoded_cache_bytes": (_non_negative_int, "memory for decoded source images reused by filters (0: none)"),
    "queue_depth": (_non_negative_int, "pixel jobs allowed to wait for a worker before 503"),
    "s3_endpoint_url": (str, "S3 endpoint (MinIO, moto, ...); default: AWS"),
    "s3_region": (str, "S3 region"),
    "s3_create_bucket": (_bool, "create the S3 bucket on start if missing (development)"),
    "modality_url": (
        str,
        "DSIO Modality API base URL, e.g. https://localhost:43810/api/dsio/modality/v1; "
        "without it POST /images/modality answers 501",
    ),
    "modality_user": (str, "user for the Modality API's Basic auth"),
    "modality_password": (str, "password for the Modality API's Basic auth (prefer the environment variable)"),
    "modality_ca_file": (str, "PEM file of CAs to trust for the Modality API's TLS certificate"),
    "modality_insecure": (_bool, "do not verify the Modality API's TLS certificate (self-signed dev certs only)"),
    "modality_timeout_seconds": (_positive_float, "timeout of a Modality API request (per read for media)"),
    "modality_session_check_seconds": (_non_negative_float, "how long a 'session is active' answer is cached"),
    "log_level": (str, "debug, info, warning or error"),
    "log_format": (str, "text or json"),
    "tls_cert": (str, "PEM certificate (chain) file: serve HTTPS (TLS 1.2+); needs --tls-key"),
    "tls_key": (str, "PEM private key file of --tls-cert"),
    "body_timeout_seconds": (_positive_float, "longest wait for the next bytes of a request body (408 after)"),
    "keepalive_timeout_seconds": (_positive_float, "close a connection idle (or stuck in its headers) this long"),
    "max_request_line_bytes": (_positive_int, "longest request line (method, path, query, version)"),
    "max_header_bytes": (_positive_int, "longest single request header field"),
    "max_headers": (_positive_int, "most request header fields"),
    "max_parts": (_positive_int, "most multipart parts read from a POST /images body"),
    "max_ranges": (_positive_int, "most byte ranges served as such; more get the whole file"),
    # Performance: all cores on one machine.
    "processes": (_processes, "server processes sharing the port and the storage (auto: one per CPU)"),
    # The browser viewer (docs/viewer.md).
    "viewer": (_bool, "serve the browser viewer at {base}/viewer/ (static files; its API calls need credentials)"),
    # Hardening: limits and deadlines.
    "allowed_hosts": (
        str,
        "Host header names the resource url may echo (comma-separated) when --public-url is unset; "
        "any other Host gets the server's own address",
    ),
    "storage_timeout_seconds": (_positive_float, "deadline of one storage operation (S3 call, upload part): 503 after"),
    "min_free_bytes": (_non_negative_int, "local disk: /readyz fails below this much free space"),
    "max_upload_seconds": (_positive_float, "longest time to receive a whole upload (408 after); less than the TTL"),
    "max_connections": (_positive_int, "most open client connections; more are answered 503 and closed"),
    "max_decoded_bytes": (_positive_int, "pixel memory of filter jobs in flight; a larger image gets 413"),
    "max_results_bytes_per_image": (_non_negative_int, "stored filter results per image; least recently used go"),
    "max_results_bytes": (_non_negative_int, "stored filter results in all (storage only this process writes)"),
    # Authentication under attack.
    "auth_hash_threads": (_positive_int, "threads that check password hashes (off the event loop)"),
    "auth_queue_depth": (_non_negative_int, "password checks allowed to wait for a thread before 503"),
    "auth_cache_size": (_non_negative_int, "verified credentials remembered, so a hash is not paid per request"),
    "auth_cache_seconds": (_non_negative_float, "how long a verified credential is remembered"),
    "auth_max_failures_per_user": (_positive_int, "failed logins of one user name per window before 429"),
    "auth_max_failures_per_address": (_positive_int, "failed logins from one client address per window before 429"),
    "auth_failure_window_seconds": (_positive_float, "the window of the failed-login limits"),
}


def env_name(option: str) -> str:
    return "FILTERS_" + option.upper()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="filters-server",
        description="DSIO Intraoral Filters API v1 server. Every flag may also be given as the "
        "environment variable FILTERS_<FLAG> (e.g. --max-pixels = FILTERS_MAX_PIXELS).",
    )
    defaults = Settings()
    for name, (kind, help_text) in _OPTIONS.items():
        flag = "--" + name.replace("_", "-")
        default = getattr(defaults, name)
        parser.add_argument(
            flag, dest=name, type=kind, default=None, help=f"{help_text} [env {env_name(name)}; default {default!r}]"
        )
    parser.add_argument("--version", action="version", version=f"filters-server {__version__}")
    parser.add_argument(
        "--hash-password", metavar="PASSWORD", default=None, help="print a users-file hash of PASSWORD and exit"
    )
    return parser


def load_settings(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> tuple[Settings, argparse.Namespace]:
    """Settings from flags over environment over defaults; also the parsed namespace."""
    environ = os.environ if environ is None else environ
    parser = build_parser()
    namespace = parser.parse_args(argv)
    values: dict[str, Any] = {}
    for name, (kind, _help) in _OPTIONS.items():
        flag_value = getattr(namespace, name)
        if flag_value is not None:
            values[name] = flag_value
        elif env_name(name) in environ:
            raw = environ[env_name(name)]
            try:
                values[name] = kind(raw)
            except (argparse.ArgumentTypeError, ValueError) as exc:
                parser.error(f"{env_name(name)}: {exc}")
    try:
        return Settings(**values), namespace
    except ValueError as exc:
        parser.error(str(exc))
        raise  # unreachable: parser.error exits
