"""The hardening flags reach what they configure, and contradictory ones are refused at start."""

from __future__ import annotations

import pytest

from filters_server.api import appkeys as keys
from filters_server.app import create_app
from filters_server.config import Settings, load_settings
from filters_server.core.users import parse_users

USERS = parse_users("alice:secret")


def test_the_storage_timeout_reaches_the_s3_backend(aws_test_env):
    app = create_app(Settings(storage="s3://bucket/prefix", storage_timeout_seconds=2.5), users=USERS)
    assert app[keys.STORAGE].timeout == 2.5


def test_the_minimum_free_space_reaches_the_local_backend(tmp_path):
    app = create_app(Settings(storage=f"file://{tmp_path}", min_free_bytes=12345), users=USERS)
    assert app[keys.STORAGE].min_free_bytes == 12345


def test_every_hardening_flag_is_also_an_environment_variable():
    settings, _ = load_settings(
        [],
        {
            "FILTERS_ALLOWED_HOSTS": "filters.example",
            "FILTERS_STORAGE_TIMEOUT_SECONDS": "3",
            "FILTERS_MIN_FREE_BYTES": "1",
            "FILTERS_MAX_UPLOAD_SECONDS": "60",
            "FILTERS_MAX_CONNECTIONS": "10",
            "FILTERS_MAX_DECODED_BYTES": "1000",
            "FILTERS_MAX_RESULTS_BYTES_PER_IMAGE": "100",
            "FILTERS_MAX_RESULTS_BYTES": "1000",
        },
    )
    assert (
        settings.allowed_host_names,
        settings.storage_timeout_seconds,
        settings.min_free_bytes,
        settings.max_upload_seconds,
        settings.max_connections,
        settings.max_decoded_bytes,
        settings.max_results_bytes_per_image,
        settings.max_results_bytes,
    ) == (frozenset({"filters.example"}), 3.0, 1, 60.0, 10, 1000, 100, 1000)


def test_an_upload_time_limit_not_under_the_ttl_stops_the_server_at_start(capsys):
    with pytest.raises(SystemExit):
        load_settings(["--ttl-seconds", "60", "--max-upload-seconds", "60"], {})
    assert "--max-upload-seconds (60) must be less than --ttl-seconds (60)" in capsys.readouterr().err
