"""The in-process test server that other projects use in their own test suites."""

from __future__ import annotations

from filters_server.testing import FiltersTestServer, png16, upload_form


async def test_the_plugin_fixtures_give_a_working_authenticated_client(filters_client):
    response = await filters_client.post("images", data=upload_form(png16()))
    assert response.status == 201
    created = await response.json()
    assert (await filters_client.get(f"images/{created['id']}")).status == 200


async def test_the_test_server_works_without_pytest_fixtures():
    import aiohttp

    async with FiltersTestServer() as server, aiohttp.ClientSession(headers=server.headers) as http:
        response = await http.post(server.url("/images"), data=upload_form(png16()))
        assert response.status == 201


STRICT_PROJECT_TEST = """
import pytest

from filters_server.testing import png16, upload_form


@pytest.mark.asyncio
async def test_upload(filters_client):
    response = await filters_client.post("images", data=upload_form(png16()))
    assert response.status == 201
"""


def test_the_plugin_fixtures_work_in_a_project_outside_the_repo_in_strict_mode(tmp_path):
    import subprocess
    import sys

    (tmp_path / "pytest.ini").write_text("[pytest]\nasyncio_mode = strict\n")
    (tmp_path / "test_client.py").write_text(STRICT_PROJECT_TEST)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_client.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout
