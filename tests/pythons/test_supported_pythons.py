"""The package installs and serves on the oldest and the newest Python it claims (setup.cfg classifiers).

For each: a fresh virtualenv, ``pip install .`` of the source (no extras: what a user gets), then
``filters-server --version`` and one upload to the in-process test server, run by that interpreter
outside the repository. Run by ``make test-pythons`` (``.ci/run``); pip's downloads are cached in
``var/pip-cache`` so later runs take seconds, not minutes.
"""

from __future__ import annotations

import configparser
import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ["pyproject.toml", "setup.cfg", "README.md", "LICENSE", "filters_server", "backends"]
PIP_CACHE = ROOT / "var" / "pip-cache"

SMOKE = """
import asyncio

import aiohttp

from filters_server.testing import FiltersTestServer, png16, upload_form


async def main() -> None:
    async with FiltersTestServer() as server, aiohttp.ClientSession(headers=server.headers) as http:
        async with http.post(server.url("/images"), data=upload_form(png16())) as response:
            assert response.status == 201, await response.text()
            created = await response.json()
        async with http.get(server.url(f"/images/{created['id']}/media")) as response:
            assert response.status == 200 and (await response.read()) == png16()
    print("uploaded", created["id"])


asyncio.run(main())
"""


def claimed_versions() -> list[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    prefix = "Programming Language :: Python :: 3."
    minors = sorted(
        int(line.removeprefix(prefix))
        for line in config["metadata"]["classifiers"].split("\n")
        if line.startswith(prefix) and line.removeprefix(prefix).isdigit()
    )
    return sorted({f"3.{minors[0]}", f"3.{minors[-1]}"})


def find_interpreter(version: str) -> str | None:
    """A working ``python<version>``: pyenv's installs first, then PATH (a pyenv shim may not run)."""
    pyenv = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates = sorted(glob.glob(f"{pyenv}/versions/{version}.*/bin/python{version}"), reverse=True)
    candidates += [found] if (found := shutil.which(f"python{version}")) else []
    for candidate in candidates:
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    return None


def run(argv: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PIP_CACHE_DIR": str(PIP_CACHE), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600, **kwargs)
    assert done.returncode == 0, f"{argv} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """What ``pip install .`` reads, copied out of the worktree (pip builds in place)."""
    target = tmp_path_factory.mktemp("source")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCE:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, target / name, ignore=ignore)
        else:
            shutil.copy2(path, target / name)
    return target


def test_the_claimed_versions_are_the_ones_python_requires_allows():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    assert config["options"]["python_requires"] == f">={claimed_versions()[0]}"


@pytest.mark.parametrize("version", claimed_versions())
def test_the_package_installs_and_serves_on(version, source, tmp_path):
    python = find_interpreter(version)
    if python is None:
        pytest.skip(f"no Python {version} interpreter on this machine")
    venv = tmp_path / "venv"
    run([python, "-m", "venv", str(venv)])
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(source)])
    version_line = run([str(venv / "bin" / "filters-server"), "--version"], cwd=tmp_path).stdout
    assert version_line.startswith("filters-server ")
    smoke = run([str(venv / "bin" / "python"), "-c", SMOKE], cwd=tmp_path)
    assert smoke.stdout.startswith("uploaded ")
