"""Slow and abusive clients: every limit holds, answers as documented, and is configurable."""

from __future__ import annotations

import json
import socket

import pytest

from filters_server.config import Settings, load_settings
from filters_server.testing import png16, sample_image_info

from .conftest import AUTH, ThreadedServer

TINY = 0.3  # seconds: the idle timeouts these tests set


@pytest.fixture(scope="module")
def strict_server():
    settings = Settings(
        storage="memory://",
        sweep_interval_seconds=3600,
        workers=1,
        body_timeout_seconds=TINY,
        keepalive_timeout_seconds=TINY,
        max_request_line_bytes=1024,
        max_header_bytes=512,
        max_headers=20,
        max_parts=3,
        max_ranges=2,
    )
    with ThreadedServer(settings) as server:
        yield server


def connect(server: ThreadedServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return sock


def read_head(sock: socket.socket) -> bytes:
    """Bytes up to the end of the response head, or whatever came before the server closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def status_of(head: bytes) -> int:
    return int(head.split(b" ", 2)[1])


def request_head(server: ThreadedServer, method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {server.base_path}{path} HTTP/1.1", "Host: 127.0.0.1", f"Authorization: {AUTH}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_an_upload_that_stops_sending_gets_408_and_leaves_nothing(strict_server):
    before = strict_server.stored_keys()
    start = (
        b'--B\r\nContent-Disposition: form-data; name="imageMedia"; filename="a.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + png16()[:100]
    )
    with connect(strict_server) as sock:
        sock.sendall(
            request_head(
                strict_server,
                "POST",
                "/images",
                {"Content-Type": "multipart/form-data; boundary=B", "Content-Length": "100000"},
            )
            + start
        )
        head = read_head(sock)  # no more bytes are sent: the server must give up on its own
    assert status_of(head) == 408
    assert b"application/problem+json" in head
    assert strict_server.stored_keys() == before


def test_an_upload_trickling_between_parts_gets_408(strict_server):
    info = json.dumps(sample_image_info()).encode()
    with connect(strict_server) as sock:
        sock.sendall(
            request_head(
                strict_server,
                "POST",
                "/images",
                {"Content-Type": "multipart/form-data; boundary=B", "Content-Length": "100000"},
            )
            + b'--B\r\nContent-Disposition: form-data; name="imageInfo"\r\n\r\n'
            + info
            + b"\r\n"
        )
        head = read_head(sock)
    assert status_of(head) == 408


def test_a_filter_body_that_never_completes_gets_408(strict_server):
    resource = strict_server.create_resource()
    with connect(strict_server) as sock:
        sock.sendall(
            request_head(
                strict_server,
                "POST",
                f"/images/{resource['id']}/filters/select",
                {"Content-Type": "application/json", "Content-Length": "50"},
            )
            + b'{"enhancementMode":'
        )
        head = read_head(sock)
    assert status_of(head) == 408


def test_a_modality_reference_that_never_completes_gets_408(strict_server):
    before = strict_server.stored_keys()
    with connect(strict_server) as sock:
        sock.sendall(
            request_head(
                strict_server, "POST", "/images/modality", {"Content-Type": "application/json", "Content-Length": "50"}
            )
            + b'{"sessionId":'
        )
        head = read_head(sock)
    assert status_of(head) == 408
    assert strict_server.stored_keys() == before


def test_a_client_stuck_in_its_request_headers_is_disconnected(strict_server):
    with connect(strict_server) as sock:
        sock.sendall(f"GET {strict_server.base_path}/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".encode())
        received = sock.recv(4096)  # the server closes; if it did not, the 10 s socket timeout fails the test
    assert received == b"" or received.startswith(b"HTTP/1.1 4")


def test_an_idle_keep_alive_connection_is_closed(strict_server):
    with connect(strict_server) as sock:
        sock.sendall(f"GET {strict_server.base_path}/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        head = read_head(sock)
        assert status_of(head) == 200
        sock.settimeout(10)
        rest = b""
        while chunk := sock.recv(4096):
            rest += chunk  # the body, then end of stream once the idle timeout passes
    assert b"dsio-filters-server" in head + rest


def test_an_oversized_header_field_is_refused(strict_server):
    with connect(strict_server) as sock:
        sock.sendall(request_head(strict_server, "GET", "/", {"X-Big": "a" * 600}))
        head = read_head(sock)
    assert status_of(head) == 400  # aiohttp refuses it in the HTTP layer, as text/plain


def test_an_oversized_request_line_is_refused(strict_server):
    with connect(strict_server) as sock:
        sock.sendall(request_head(strict_server, "GET", "/images/" + "a" * 1100, {}))
        head = read_head(sock)
    assert status_of(head) == 400  # aiohttp refuses it in the HTTP layer, as text/plain


def test_too_many_header_fields_are_refused(strict_server):
    with connect(strict_server) as sock:
        sock.sendall(request_head(strict_server, "GET", "/", {f"X-H{i}": "v" for i in range(30)}))
        head = read_head(sock)
    assert status_of(head) == 400  # aiohttp refuses it in the HTTP layer, as text/plain


def test_more_parts_than_allowed_are_400_and_leave_nothing(strict_server):
    import requests

    before = strict_server.stored_keys()
    files = [(f"extra{i}", (None, "x")) for i in range(3)]
    files += [
        ("imageInfo", (None, json.dumps(sample_image_info()), "application/json")),
        ("imageMedia", ("a.png", png16(), "image/png")),
    ]
    response = requests.post(
        f"{strict_server.base_url}/images", files=files, headers={"Authorization": AUTH}, timeout=10
    )
    assert response.status_code == 400
    assert "at most 3" in response.json()["detail"]
    assert strict_server.stored_keys() == before


def test_more_ranges_than_allowed_get_the_whole_file(strict_server):
    import requests

    resource = strict_server.create_resource()
    url = f"{strict_server.base_url}/images/{resource['id']}/media"
    headers = {"Authorization": AUTH}
    two = requests.get(url, headers=headers | {"Range": "bytes=0-0,10-10"}, timeout=10)
    three = requests.get(url, headers=headers | {"Range": "bytes=0-0,10-10,20-20"}, timeout=10)
    assert two.status_code == 206
    assert three.status_code == 200 and len(three.content) == int(three.headers["Content-Length"])


def test_every_limit_is_an_option_with_an_environment_variable():
    settings, _ = load_settings(
        ["--body-timeout-seconds", "5", "--max-parts", "4"],
        {
            "FILTERS_KEEPALIVE_TIMEOUT_SECONDS": "9",
            "FILTERS_MAX_REQUEST_LINE_BYTES": "2048",
            "FILTERS_MAX_HEADER_BYTES": "4096",
            "FILTERS_MAX_HEADERS": "50",
            "FILTERS_MAX_RANGES": "8",
        },
    )
    assert (
        settings.body_timeout_seconds,
        settings.max_parts,
        settings.keepalive_timeout_seconds,
        settings.max_request_line_bytes,
        settings.max_header_bytes,
        settings.max_headers,
        settings.max_ranges,
    ) == (5.0, 4, 9.0, 2048, 4096, 50, 8)
