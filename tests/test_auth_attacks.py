"""Authentication under attack: equal cost for unknown names, hashing off the loop, the cache of
verified credentials, throttling of failures, security log lines and users reloaded on SIGHUP."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading

import aiohttp
import pytest

from backends.memory import MemoryStorage
from filters_server.api import appkeys as keys
from filters_server.app import create_app, reload_users
from filters_server.config import Settings
from filters_server.core.authentication import Authenticator
from filters_server.core.throttle import FailureCounter, LoginThrottle
from filters_server.core.users import Credential, hash_password, parse_users, stand_in_for

from .conftest import BASE, FakeClock

ITERATIONS = 1000
ROUTE = f"{BASE}/openapi.yaml"


def basic(name: str, password: str) -> dict[str, str]:
    return {"Authorization": aiohttp.encode_basic_auth(name, password)}


@pytest.fixture
def pbkdf2_calls(monkeypatch) -> list[tuple[int, int]]:
    """Every PBKDF2 run as (iterations, thread id), through the real function."""
    calls: list[tuple[int, int]] = []
    real = hashlib.pbkdf2_hmac

    def counting(name: str, password: bytes, salt: bytes, iterations: int, dklen: int | None = None) -> bytes:
        calls.append((iterations, threading.get_ident()))
        return real(name, password, salt, iterations, dklen)

    monkeypatch.setattr(hashlib, "pbkdf2_hmac", counting)
    return calls


@pytest.fixture
def users_file(tmp_path):
    path = tmp_path / "users.txt"
    path.write_text(f"alice:{hash_password('alice-pw', iterations=ITERATIONS)}\n")
    return path


@pytest.fixture
def hashed_client(aiohttp_client, users_file):
    """A client of a server whose users file holds PBKDF2 hashes; settings may be changed."""

    async def factory(**changes):
        settings = Settings(storage="memory://", users_file=str(users_file), **changes)
        return await aiohttp_client(create_app(settings, storage=MemoryStorage()))

    return factory


# --- equal cost ------------------------------------------------------------------------------------


async def test_an_unknown_user_costs_the_same_pbkdf2_work_as_a_wrong_password(hashed_client, pbkdf2_calls):
    client = await hashed_client()
    assert (await client.get(ROUTE, headers=basic("alice", "wrong"))).status == 401
    wrong_password = [iterations for iterations, _ in pbkdf2_calls]
    pbkdf2_calls.clear()
    assert (await client.get(ROUTE, headers=basic("mallory", "wrong"))).status == 401
    unknown_user = [iterations for iterations, _ in pbkdf2_calls]
    assert wrong_password == unknown_user == [ITERATIONS]


def test_the_stand_in_for_unknown_users_has_the_tables_most_common_iteration_count():
    users = {
        "a": Credential(hash_password("x", iterations=1000)),
        "b": Credential(hash_password("x", iterations=1000)),
        "c": Credential(hash_password("x", iterations=3000)),
    }
    stand_in = stand_in_for(users)
    assert (stand_in.hashed, stand_in.iterations) == (True, 1000)


def test_the_stand_in_for_a_table_of_plain_passwords_is_a_plain_password():
    assert stand_in_for(parse_users("a:one,b:two")).hashed is False


def test_plain_passwords_of_any_length_are_compared_as_equal_length_digests():
    credential = Credential("short")
    assert credential.matches("short")
    assert not credential.matches("short" * 100)


# --- off the event loop, bounded ---------------------------------------------------------------------


async def test_password_hashes_are_checked_off_the_event_loop_thread(hashed_client, pbkdf2_calls):
    client = await hashed_client()
    assert (await client.get(ROUTE, headers=basic("alice", "alice-pw"))).status == 200
    assert pbkdf2_calls and all(thread != threading.get_ident() for _, thread in pbkdf2_calls)


async def test_hash_checks_beyond_the_threads_and_queue_are_refused_with_503(hashed_client, monkeypatch):
    started, release = threading.Event(), threading.Event()
    real = hashlib.pbkdf2_hmac

    def blocking(*args, **kwargs):
        started.set()
        release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "pbkdf2_hmac", blocking)
    client = await hashed_client(auth_hash_threads=1, auth_queue_depth=0)
    first = asyncio.create_task(client.get(ROUTE, headers=basic("alice", "alice-pw")))
    await asyncio.get_running_loop().run_in_executor(None, started.wait, 10)
    try:
        second = await client.get(ROUTE, headers=basic("alice", "other"))
        assert second.status == 503
        assert second.headers["Retry-After"] == "1"
        assert second.content_type == "application/problem+json"
    finally:
        release.set()
    assert (await first).status == 200


# --- the cache of verified credentials -----------------------------------------------------------------


async def test_a_correct_password_is_hashed_once_then_remembered(hashed_client, pbkdf2_calls):
    client = await hashed_client()
    for _ in range(3):
        assert (await client.get(ROUTE, headers=basic("alice", "alice-pw"))).status == 200
    assert len(pbkdf2_calls) == 1


async def test_remembered_credentials_are_bounded_least_recently_used_first():
    users = parse_users("a:1,b:2,c:3")
    auth = Authenticator(users, throttle=LoginThrottle(per_user=5, per_address=5, window=60), cache_size=2)
    try:
        for name, password in (("a", "1"), ("b", "2"), ("a", "1"), ("c", "3")):
            assert await auth.verify(name, password, "127.0.0.1")
        assert auth.cached == 2
        assert auth.remembers("a", "1") and auth.remembers("c", "3") and not auth.remembers("b", "2")
    finally:
        auth.close()


async def test_remembered_credentials_expire():
    clock = FakeClock()
    auth = Authenticator(
        parse_users("a:1"),
        throttle=LoginThrottle(per_user=5, per_address=5, window=60),
        cache_seconds=300,
        clock=clock,
    )
    try:
        await auth.verify("a", "1", "127.0.0.1")
        clock.advance(299)
        assert auth.remembers("a", "1")
        clock.advance(2)
        assert not auth.remembers("a", "1")
    finally:
        auth.close()


async def test_changing_the_users_forgets_remembered_credentials():
    auth = Authenticator(parse_users("a:1"), throttle=LoginThrottle(per_user=5, per_address=5, window=60))
    try:
        await auth.verify("a", "1", "127.0.0.1")
        auth.replace_users(parse_users("a:new"))
        assert not auth.remembers("a", "1")
        assert not await auth.verify("a", "1", "127.0.0.1")
    finally:
        auth.close()


# --- throttling -------------------------------------------------------------------------------------


async def test_repeated_failures_for_one_user_get_429_with_retry_after(hashed_client):
    client = await hashed_client(auth_max_failures_per_user=3, auth_failure_window_seconds=60)
    for _ in range(3):
        assert (await client.get(ROUTE, headers=basic("alice", "guess"))).status == 401
    refused = await client.get(ROUTE, headers=basic("alice", "alice-pw"))  # even the right one, now
    assert refused.status == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert (await refused.json())["status"] == 429


async def test_repeated_failures_from_one_address_get_429_whatever_the_name(hashed_client):
    client = await hashed_client(auth_max_failures_per_address=3, auth_failure_window_seconds=60)
    for name in ("u1", "u2", "u3"):
        assert (await client.get(ROUTE, headers=basic(name, "guess"))).status == 401
    refused = await client.get(ROUTE, headers=basic("u4", "guess"))
    assert refused.status == 429
    assert "Retry-After" in refused.headers


async def test_a_successful_login_resets_the_users_failure_count(hashed_client):
    client = await hashed_client(auth_max_failures_per_user=3)
    for _ in range(2):
        await client.get(ROUTE, headers=basic("alice", "guess"))
    assert (await client.get(ROUTE, headers=basic("alice", "alice-pw"))).status == 200
    statuses = [(await client.get(ROUTE, headers=basic("alice", "guess"))).status for _ in range(2)]
    assert statuses == [401, 401]


def test_a_throttled_key_may_try_again_when_the_window_has_passed():
    clock = FakeClock()
    throttle = LoginThrottle(per_user=2, per_address=100, window=60, clock=clock)
    throttle.failed("alice", "10.0.0.1")
    clock.advance(10)
    throttle.failed("alice", "10.0.0.1")
    refusal = throttle.refusal("alice", "10.0.0.1")
    assert refusal is not None and (refusal.retry_after, refusal.key_kind) == (50, "user")
    clock.advance(50)
    assert throttle.refusal("alice", "10.0.0.1") is None


def test_failure_counters_keep_a_bounded_number_of_keys():
    counter = FailureCounter(limit=3, window=60, max_keys=100)
    for number in range(1000):
        counter.failed(f"user-{number}")
    assert len(counter) == 100


async def test_a_throttle_trip_is_one_security_warning_naming_user_and_address_not_password(hashed_client, caplog):
    client = await hashed_client(auth_max_failures_per_user=3)
    with caplog.at_level(logging.WARNING, logger="filters_server.security"):
        for _ in range(4):
            await client.get(ROUTE, headers=basic("alice", "hunter2-guess"))
    lines = [r for r in caplog.records if r.name == "filters_server.security"]
    assert len(lines) == 1
    message = lines[0].getMessage()
    assert lines[0].levelno == logging.WARNING
    assert "'alice'" in message and "127.0.0.1" in message and "failures=3" in message
    assert "hunter2" not in message


# --- reloading the users file ---------------------------------------------------------------------------


async def test_reloading_users_takes_the_new_file(hashed_client, users_file):
    client = await hashed_client()
    users_file.write_text(f"bob:{hash_password('bob-pw', iterations=ITERATIONS)}\n")
    assert await reload_users(client.server.app)
    assert (await client.get(ROUTE, headers=basic("bob", "bob-pw"))).status == 200
    assert (await client.get(ROUTE, headers=basic("alice", "alice-pw"))).status == 401


async def test_a_users_file_that_cannot_be_used_keeps_the_previous_users_and_logs_an_error(
    hashed_client, users_file, caplog
):
    client = await hashed_client()
    users_file.write_text("not a users line\n")
    with caplog.at_level(logging.ERROR, logger="filters_server.app"):
        assert not await reload_users(client.server.app)
    assert any(r.levelno == logging.ERROR and "NOT reloaded" in r.getMessage() for r in caplog.records)
    assert (await client.get(ROUTE, headers=basic("alice", "alice-pw"))).status == 200
    assert "alice" in client.server.app[keys.AUTHENTICATOR].users
