"""The development credentials that ``make run`` and ``make run-tls`` print, with a command that works."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import dev_users  # noqa: E402


def hint(capsys, tmp_path, **kwargs) -> str:
    dev_users.main(str(tmp_path / "users.txt"), **kwargs)
    [line] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Try: ")]
    return line


def test_the_http_hint_is_plain_http(capsys, tmp_path):
    line = hint(capsys, tmp_path)
    assert " http://127.0.0.1:43809/" in line and "--cacert" not in line


def test_the_tls_hint_is_https_and_trusts_the_development_ca(capsys, tmp_path):
    line = hint(capsys, tmp_path, tls=True)
    assert " https://127.0.0.1:43809/" in line and "--cacert var/tls/ca.pem " in line


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_tls_asks_for_the_tls_hint():
    recipe = subprocess.run(["make", "-n", "run-tls"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "scripts/dev_users.py var/dev-users.txt --tls" in recipe
