"""The container image recipe: what it runs, as whom, and that its health check really probes.

No Docker engine runs here, so the image is not built; instead each instruction that decides
behaviour is checked against what it refers to (packages, console scripts, settings), and the
HEALTHCHECK command itself is run against live servers.
"""

from __future__ import annotations

import configparser
import fnmatch
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from filters_server.config import DEFAULT_PORT
from filters_server.devcert import ensure_devcert

from tests.s3_endpoint import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVER_UID = 10001
VENV_PYTHON = "/opt/venv/bin/python"  # the image's interpreter; here: this test's interpreter


def instructions(deploy_dir: Path) -> list[tuple[str, str]]:
    text = (deploy_dir / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(op.upper(), arg) for op, arg in (line.split(None, 1) for line in lines)]


def stage(deploy_dir: Path, number: int) -> list[tuple[str, str]]:
    """The instructions of build stage ``number`` (0: build, -1: runtime)."""
    found = instructions(deploy_dir)
    starts = [i for i, (op, _) in enumerate(found) if op == "FROM"]
    start = starts[number]
    end = next((s for s in starts if s > start), len(found))
    return found[start:end]


def setup_cfg() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(REPO_ROOT / "setup.cfg")
    return parser


def exec_form(arg: str) -> list[str]:
    return list(json.loads(arg))


def test_the_runtime_runs_as_a_numeric_non_root_user(deploy_dir):
    users = [arg for op, arg in stage(deploy_dir, -1) if op == "USER"]
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) == SERVER_UID


def test_the_build_stage_copies_every_package_the_project_installs(deploy_dir):
    packages = setup_cfg()["options.packages.find"]["include"].split()
    copied = {arg.split()[0] for op, arg in stage(deploy_dir, 0) if op == "COPY"}
    assert {name for name in packages if "." not in name} <= copied


def test_the_build_stage_installs_extras_the_project_declares(deploy_dir):
    extras = set(setup_cfg()["options.extras_require"])
    runs = " ".join(arg for op, arg in stage(deploy_dir, 0) if op == "RUN")
    installed = {extra for spec in shlex.split(runs) if spec.startswith(".[") for extra in spec[2:-1].split(",")}
    assert installed and installed <= extras


def test_the_entrypoint_is_the_servers_console_script(deploy_dir):
    [entry] = [arg for op, arg in stage(deploy_dir, -1) if op == "ENTRYPOINT"]
    scripts = setup_cfg()["options.entry_points"]["console_scripts"]
    assert exec_form(entry)[0] + " = filters_server.__main__:main" in scripts


def test_the_image_listens_on_all_interfaces_at_the_api_port(deploy_dir):
    runtime = stage(deploy_dir, -1)
    [exposed] = [arg for op, arg in runtime if op == "EXPOSE"]
    env = " ".join(arg for op, arg in runtime if op == "ENV")
    assert exposed.split() == [str(DEFAULT_PORT)]
    assert "FILTERS_HOST=0.0.0.0" in env.split()


# --- the HEALTHCHECK, run for real ----------------------------------------------------------


def healthcheck(deploy_dir: Path, **environ: str) -> subprocess.CompletedProcess[str]:
    [arg] = [arg for op, arg in stage(deploy_dir, -1) if op == "HEALTHCHECK"]
    command = exec_form(arg.split("CMD", 1)[1].strip())
    assert command[0] == VENV_PYTHON
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **environ}
    return subprocess.run([sys.executable, *command[1:]], env=env, capture_output=True, text=True, timeout=30)


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[object]:
    started: list[subprocess.Popen[bytes]] = []

    def start(*flags: str) -> int:
        port = free_port()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "filters_server",
                "--port",
                str(port),
                "--storage",
                "memory://",
                "--users",
                "probe:probe",
                "--log-level",
                "warning",
                *flags,
            ],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        )
        started.append(process)
        return port

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=30)


def wait_until_healthy(deploy_dir: Path, deadline_runs: int = 100, **environ: str) -> int:
    for _ in range(deadline_runs):
        result = healthcheck(deploy_dir, **environ)
        if result.returncode == 0:
            return 0
    return result.returncode


def test_the_healthcheck_passes_against_a_running_server(deploy_dir, start_server):
    port = start_server()
    assert wait_until_healthy(deploy_dir, FILTERS_PORT=str(port)) == 0


def test_the_healthcheck_passes_against_a_server_speaking_tls(deploy_dir, start_server, tmp_path):
    cert, _created = ensure_devcert(tmp_path / "tls")
    port = start_server("--tls-cert", str(cert.cert), "--tls-key", str(cert.key))
    assert wait_until_healthy(deploy_dir, FILTERS_PORT=str(port), FILTERS_TLS_CERT=str(cert.cert)) == 0


def test_the_healthcheck_fails_when_nothing_answers(deploy_dir):
    result = healthcheck(deploy_dir, FILTERS_PORT=str(free_port()))
    assert result.returncode == 1
    assert "/healthz" in result.stderr


# --- the build context ---------------------------------------------------------------------


def dockerignore_excludes(patterns: list[str], path: str) -> bool:
    """Docker's last-match-wins rule, with a pattern also matching everything below it."""
    excluded = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        parts = Path(path).parts
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatchcase(p, pattern) for p in prefixes):
            excluded = not negated
    return excluded


def test_dockerignore_example_keeps_everything_the_dockerfile_copies(deploy_dir):
    patterns = [
        line.strip()
        for line in (deploy_dir / "dockerignore.example").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources = [
        src for op, arg in instructions(deploy_dir) if op == "COPY" and "--from=" not in arg for src in arg.split()[:-1]
    ]
    assert sources
    for src in sources:
        assert not dockerignore_excludes(patterns, f"{src}/x.py" if "." not in src else src), src
    assert dockerignore_excludes(patterns, ".git/config")
    assert dockerignore_excludes(patterns, "tests/test_x.py")
