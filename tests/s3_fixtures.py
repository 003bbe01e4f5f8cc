"""S3 test fixtures shared by every test folder that needs a live endpoint.

The root conftest registers them as a plugin (``pytest_plugins``).
``FILTERS_TEST_S3_ENDPOINT`` names an endpoint (``make test`` starts one for the run);
otherwise one moto server is started for the test process, however many tests ask for it,
and stopped after the last of them.
If neither works the S3 tests fail loudly; they are never skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.s3_endpoint import ENV_VAR, MotoServer, wait_until_answers

#: The dummy credentials every S3 test (and every server subprocess it starts) uses.
AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
_AWS_UNSET = ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE")


@pytest.fixture(scope="session")
def aws_test_env() -> Iterator[None]:
    """Dummy credentials, isolated from the developer's own AWS setup."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in AWS_TEST_ENV.items():
            mp.setenv(name, value)
        for name in _AWS_UNSET:
            mp.delenv(name, raising=False)
        yield


class _SharedMoto:
    """One moto server per test process, reference-counted across session fixtures."""

    server: MotoServer | None = None
    users = 0

    @classmethod
    def acquire(cls) -> str:
        if cls.server is None:
            cls.server = MotoServer.start()
        cls.users += 1
        return cls.server.url

    @classmethod
    def release(cls) -> None:
        cls.users -= 1
        if cls.users == 0 and cls.server is not None:
            server, cls.server = cls.server, None
            server.stop()


@pytest.fixture(scope="session")
def s3_endpoint(aws_test_env: None) -> Iterator[str]:
    """URL of a live S3 endpoint for the whole session."""
    url = os.environ.get(ENV_VAR, "").rstrip("/")
    if url:
        wait_until_answers(url, timeout=10)
        yield url
        return
    url = _SharedMoto.acquire()
    try:
        yield url
    finally:
        _SharedMoto.release()
