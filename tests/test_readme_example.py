"""The README's first curl command works as printed: its files exist and upload successfully."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import shlex
import shutil
from pathlib import Path

import aiohttp
import pytest

from filters_server.testing import TEST_PASSWORD, TEST_USER

ROOT = Path(__file__).resolve().parents[1]


def readme_upload_command() -> list[str]:
    """The README's ``curl ... /images`` upload, continuation lines joined, split like a shell would."""
    readme = (ROOT / "README.md").read_text()
    for block in re.findall(r"```sh\n(.*?)```", readme, re.S):
        command = block.replace("\\\n", " ")
        if command.startswith("curl ") and "-F 'imageMedia=" in command:
            return shlex.split(command)
    raise AssertionError("README.md has no curl upload command")


def form_fields(argv: list[str]) -> dict[str, tuple[str, str]]:
    """curl's ``-F name=<file;type=...`` / ``name=@file;type=...``: name -> (file, content type)."""
    fields = {}
    for flag, value in itertools.pairwise(argv):
        if flag == "-F":
            name, _, spec = value.partition("=")
            path, _, media_type = spec[1:].partition(";type=")
            assert spec[0] in "<@", f"{name} is not read from a file"
            fields[name] = (path, media_type)
    return fields


def test_the_readme_upload_reads_the_shipped_example_files():
    fields = form_fields(readme_upload_command())
    assert set(fields) == {"imageInfo", "imageMedia"}
    assert all((ROOT / path).is_file() for path, _ in fields.values())
    assert (ROOT / fields["imageMedia"][0]).stat().st_size < 1024 * 1024


async def test_the_readme_upload_of_the_example_is_created(filters_server):
    fields = form_fields(readme_upload_command())
    info_path, info_type = fields["imageInfo"]
    media_path, media_type = fields["imageMedia"]
    form = aiohttp.FormData()
    form.add_field("imageInfo", (ROOT / info_path).read_text(), content_type=info_type)
    form.add_field(
        "imageMedia", (ROOT / media_path).read_bytes(), filename=Path(media_path).name, content_type=media_type
    )
    async with (
        aiohttp.ClientSession(headers=filters_server.headers) as http,
        http.post(filters_server.url("/images"), data=form) as response,
    ):
        assert response.status == 201, await response.text()
        created = await response.json()
    assert created["imageInfo"]["lutInfo"] == json.loads((ROOT / info_path).read_text())["lutInfo"]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
async def test_the_readme_curl_command_runs_as_printed(filters_server):
    argv = readme_upload_command()
    argv[argv.index("-u") + 1] = f"{TEST_USER}:{TEST_PASSWORD}"
    argv[-1] = filters_server.url("/images")
    argv[1:1] = ["--silent", "--show-error", "--write-out", "\n%{http_code}"]
    process = await asyncio.create_subprocess_exec(
        *argv, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    body, _, status = out.decode().rpartition("\n")
    assert status == "201", body
    assert json.loads(body)["mediaType"] == "image/png"
