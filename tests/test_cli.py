"""The ``filters-server`` command: what a newcomer types first."""

from __future__ import annotations

import builtins
import sys
from importlib import metadata

import pytest

from filters_server.__main__ import main


def test_version_prints_the_installed_version(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"filters-server {metadata.version('dsio-filters-server')}\n"


def test_s3_storage_without_the_s3_extra_is_a_one_line_error(monkeypatch, capsys):
    real_import = builtins.__import__

    def without_aiobotocore(name, *args, **kwargs):
        if name.split(".")[0] in ("aiobotocore", "botocore"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "backends.s3", raising=False)
    monkeypatch.setattr(builtins, "__import__", without_aiobotocore)
    assert main(["--storage", "s3://bucket/prefix", "--users", "a:b"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "[s3]" in err
