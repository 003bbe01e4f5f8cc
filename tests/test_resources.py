"""GET and DELETE /images/{id}, the public routes, and who may see what."""

from __future__ import annotations

import pytest

from .conftest import BASE, create, stored_keys


async def test_get_returns_the_resource_as_created(client):
    created = await create(client)
    response = await client.get(f"{BASE}/images/{created['id']}")
    assert response.status == 200
    assert await response.json() == created


async def test_delete_answers_204_and_the_resource_is_gone(client):
    created = await create(client)
    response = await client.delete(f"{BASE}/images/{created['id']}")
    assert response.status == 204
    assert (await client.get(f"{BASE}/images/{created['id']}")).status == 404
    assert (await client.get(f"{BASE}/images/{created['id']}/media")).status == 404


async def test_delete_removes_every_stored_object_of_the_resource(client, storage):
    created = await create(client)
    await client.delete(f"{BASE}/images/{created['id']}")
    assert stored_keys(storage) == []


async def test_deleting_twice_answers_404_the_second_time(client):
    created = await create(client)
    await client.delete(f"{BASE}/images/{created['id']}")
    response = await client.delete(f"{BASE}/images/{created['id']}")
    assert response.status == 404
    assert response.content_type == "application/problem+json"


@pytest.mark.parametrize(
    "resource_id", ["160c98f9-d188-4118-94c4-697161fd5caf", "not-a-uuid", "..%2F..%2Fetc", "x" * 300]
)
async def test_unknown_or_malformed_ids_are_404(client, resource_id):
    response = await client.get(f"{BASE}/images/{resource_id}")
    assert response.status == 404
    assert (await response.json())["status"] == 404


async def test_another_users_resource_looks_like_an_unknown_one(client, bob):
    created = await create(client)
    for method, path in [("GET", ""), ("GET", "/media"), ("DELETE", "")]:
        response = await bob.request(method, f"{BASE}/images/{created['id']}{path}")
        assert response.status == 404
    assert (await client.get(f"{BASE}/images/{created['id']}")).status == 200


@pytest.mark.parametrize(
    "method, path",
    [
        ("POST", "/images"),
        ("GET", "/images/160c98f9-d188-4118-94c4-697161fd5caf"),
        ("DELETE", "/images/160c98f9-d188-4118-94c4-697161fd5caf"),
        ("GET", "/images/160c98f9-d188-4118-94c4-697161fd5caf/media"),
        ("GET", "/openapi.yaml"),
    ],
)
async def test_api_routes_without_credentials_are_401_with_a_challenge(anonymous, method, path):
    response = await anonymous.request(method, BASE + path)
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert response.content_type == "application/problem+json"


async def test_a_wrong_password_is_401(anonymous):
    import aiohttp

    response = await anonymous.get(
        f"{BASE}/openapi.yaml", headers={"Authorization": aiohttp.encode_basic_auth("alice", "wrong")}
    )
    assert response.status == 401


async def test_an_unknown_user_is_401(anonymous):
    import aiohttp

    response = await anonymous.get(
        f"{BASE}/openapi.yaml", headers={"Authorization": aiohttp.encode_basic_auth("mallory", "x")}
    )
    assert response.status == 401


@pytest.mark.parametrize("path", [f"{BASE}/", BASE])
async def test_service_root_answers_200_without_credentials(anonymous, path):
    response = await anonymous.get(path)
    assert response.status == 200
    assert (await response.json())["apiVersion"] == "1.0"


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
async def test_health_probes_answer_200_without_credentials(anonymous, path):
    assert (await anonymous.get(path)).status == 200


async def test_readiness_fails_with_503_while_storage_is_unreachable(aiohttp_client, make_app):
    from backends import StorageUnavailable
    from backends.memory import MemoryStorage

    class Down(MemoryStorage):
        async def ping(self):
            raise StorageUnavailable("down")

    client = await aiohttp_client(make_app(Down()))
    response = await client.get("/readyz")
    assert response.status == 503
    assert "Retry-After" in response.headers


async def test_storage_failure_during_a_request_is_503_with_retry_after(aiohttp_client, make_app):
    from backends import StorageUnavailable
    from backends.memory import MemoryStorage

    from .conftest import ALICE

    class Failing(MemoryStorage):
        async def put_bytes(self, key, data):
            raise StorageUnavailable("down")

    client = await aiohttp_client(make_app(Failing()), headers=ALICE)
    response = await client.post(
        f"{BASE}/images", data=b"x", headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    assert response.status == 503
    assert response.headers["Retry-After"]
    assert response.content_type == "application/problem+json"


async def test_served_openapi_document_describes_this_server(client):
    import yaml

    response = await client.get(f"{BASE}/openapi.yaml")
    assert response.status == 200
    document = yaml.safe_load(await response.text())
    assert document["openapi"].startswith("3.")
    assert "/images/{id}/media" in document["paths"]
    assert "basicAuth" in document["components"]["securitySchemes"]


async def test_unknown_route_is_a_problem_document(client):
    response = await client.get(f"{BASE}/nowhere")
    assert response.status == 404
    assert response.content_type == "application/problem+json"


async def test_wrong_method_is_405_problem(client):
    response = await client.put(f"{BASE}/images")
    assert response.status == 405
    assert response.content_type == "application/problem+json"
    assert "POST" in response.headers["Allow"]
