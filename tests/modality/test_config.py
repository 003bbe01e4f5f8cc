"""The --modality-* options."""

from __future__ import annotations

import pytest

from filters_server.config import Settings, load_settings


def test_modality_options_come_from_flags():
    settings, _ = load_settings(
        [
            "--modality-url",
            "https://localhost:43810/api/dsio/modality/v1",
            "--modality-user",
            "op",
            "--modality-timeout-seconds",
            "7",
            "--modality-session-check-seconds",
            "0",
        ],
        {},
    )
    assert settings.modality_url == "https://localhost:43810/api/dsio/modality/v1"
    assert (settings.modality_user, settings.modality_timeout_seconds) == ("op", 7.0)
    assert settings.modality_session_check_seconds == 0.0


def test_modality_options_come_from_the_environment():
    settings, _ = load_settings(
        [],
        {
            "FILTERS_MODALITY_URL": "http://127.0.0.1:43810/api",
            "FILTERS_MODALITY_PASSWORD": "pw",
            "FILTERS_MODALITY_INSECURE": "true",
        },
    )
    assert (settings.modality_password, settings.modality_insecure) == ("pw", True)


def test_without_modality_url_modality_is_off_by_default():
    settings, _ = load_settings([], {})
    assert settings.modality_url is None and settings.modality_insecure is False


def test_a_modality_url_must_be_http_or_https():
    with pytest.raises(ValueError):
        Settings(modality_url="ftp://modality/api")


def test_insecure_and_a_ca_file_contradict_each_other():
    with pytest.raises(ValueError):
        Settings(modality_url="https://m/api", modality_insecure=True, modality_ca_file="ca.pem")


def test_a_negative_session_check_window_is_a_usage_error():
    with pytest.raises(SystemExit):
        load_settings(["--modality-session-check-seconds", "-1"], {})
