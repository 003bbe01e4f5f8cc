"""Configuration from flags and FILTERS_* variables, and users with hashed passwords."""

from __future__ import annotations

import pytest

from filters_server.config import Settings, load_settings
from filters_server.core.users import Credential, hash_password, parse_users, read_users_file

from .conftest import BASE


def test_defaults_match_the_vendor_service():
    settings, _ = load_settings([], {})
    assert (settings.port, settings.base_path, settings.ttl_seconds) == (43809, "/api/dsio/filters/v1", 28800)
    assert settings.max_upload_bytes == 256 * 1024 * 1024 and settings.max_pixels == 100_000_000


def test_environment_variables_set_options():
    settings, _ = load_settings(
        [], {"FILTERS_PORT": "9000", "FILTERS_STORAGE": "memory://", "FILTERS_S3_CREATE_BUCKET": "1"}
    )
    assert (settings.port, settings.storage, settings.s3_create_bucket) == (9000, "memory://", True)


def test_flags_win_over_environment_variables():
    settings, _ = load_settings(["--port", "9001"], {"FILTERS_PORT": "9000"})
    assert settings.port == 9001


def test_an_invalid_environment_value_is_a_usage_error():
    with pytest.raises(SystemExit):
        load_settings([], {"FILTERS_MAX_PIXELS": "-5"})


def test_base_path_must_not_end_with_a_slash():
    with pytest.raises(ValueError):
        Settings(base_path="/api/")


def test_hashed_passwords_verify_and_reject():
    credential = Credential(hash_password("s3cret", iterations=1000))
    assert credential.matches("s3cret")
    assert not credential.matches("S3cret")


def test_users_file_takes_plain_and_hashed_entries_and_comments(tmp_path):
    path = tmp_path / "users.txt"
    path.write_text(f"# team\nalice:plain\nbob:{hash_password('pw', iterations=1000)}\n\n")
    users = read_users_file(str(path))
    assert users["alice"].matches("plain") and users["bob"].matches("pw")


def test_a_malformed_users_entry_is_refused():
    with pytest.raises(ValueError):
        parse_users("alice")


async def test_a_user_from_a_hashed_users_file_can_call_the_api(aiohttp_client, make_app, tmp_path):
    import aiohttp

    from backends.memory import MemoryStorage
    from filters_server.app import create_app

    path = tmp_path / "users.txt"
    path.write_text(f"carol:{hash_password('pw', iterations=1000)}\n")
    app = create_app(Settings(storage="memory://", users_file=str(path)), storage=MemoryStorage())
    client = await aiohttp_client(app)
    ok = await client.get(f"{BASE}/openapi.yaml", headers={"Authorization": aiohttp.encode_basic_auth("carol", "pw")})
    bad = await client.get(f"{BASE}/openapi.yaml", headers={"Authorization": aiohttp.encode_basic_auth("carol", "no")})
    assert (ok.status, bad.status) == (200, 401)


def test_the_server_refuses_to_start_without_users():
    from filters_server.__main__ import main

    assert main(["--storage", "memory://"]) == 2


def test_an_app_without_users_cannot_be_built():
    from filters_server.app import create_app

    with pytest.raises(ValueError):
        create_app(Settings(storage="memory://"))
