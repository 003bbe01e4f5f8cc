"""The dsio-filters command line, run in-process (in a thread: it runs its own event loop)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from filters_client.cli import build_parser, main
from filters_client.cli.filtergroups import steps
from filters_client.models import Filter
from filters_server.api import appkeys as keys
from filters_server.testing import (
    TEST_PASSWORD,
    TEST_USER,
    FiltersTestServer,
    png16,
    sample_image_info,
)

from .conftest import Recorder, direct_filter, write_png

Cli = Callable[..., Awaitable[int]]


@pytest.fixture
def cli(server: FiltersTestServer, no_env: None, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("CLI_TEST_PASSWORD", TEST_PASSWORD)

    async def run(*args: str) -> int:
        argv = ["--url", server.base_url, "--user", TEST_USER, "--password-env", "CLI_TEST_PASSWORD", *args]
        return await asyncio.to_thread(main, argv)

    return run


def test_the_import_loads_no_numpy_opencv_aiobotocore_or_server_code() -> None:
    code = (
        "import filters_client, filters_client.cli, sys; "
        "print(sorted(m for m in ('numpy', 'cv2', 'aiobotocore', 'filters_server') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# --- single calls ------------------------------------------------------------------------------
async def test_check_prints_the_service_root(cli: Cli, capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli("check") == 0
    assert json.loads(capsys.readouterr().out)["apiVersion"] == "1.0"


async def test_check_of_a_service_that_is_down_fails(no_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert await asyncio.to_thread(main, ["--url", f"http://127.0.0.1:{port}/api", "--retries", "0", "check"]) == 1
    assert "cannot connect" in capsys.readouterr().err


async def test_upload_info_filter_download_delete(
    cli: Cli, server: FiltersTestServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_png(tmp_path / "x.png", seed=4, info=sample_image_info())
    assert await cli("upload", str(source), "--id-only") == 0
    image_id = capsys.readouterr().out.strip()

    assert await cli("info", image_id) == 0
    assert json.loads(capsys.readouterr().out)["id"] == image_id

    assert await cli("download", image_id, "-o", str(tmp_path / "media.png")) == 0
    assert (tmp_path / "media.png").read_bytes() == source.read_bytes()

    assert (
        await cli(
            "filter", image_id, "supreme", "--task", "periodontic", "--sharpness", "20", "-o", str(tmp_path / "f.png")
        )
        == 0
    )
    expected = await direct_filter(
        server, source.read_bytes(), sample_image_info(), "supreme", {"task": "periodontic", "sharpness": 20}
    )
    assert (tmp_path / "f.png").read_bytes() == expected

    assert await cli("delete", image_id) == 0
    assert await cli("info", image_id) == 1
    assert "404" in capsys.readouterr().err


async def test_without_credentials_the_error_says_where_to_put_them(
    server: FiltersTestServer, no_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await asyncio.to_thread(main, ["--url", server.base_url, "info", "3b0f4b52-0000-4000-8000-000000000000"])
    assert code == 1
    assert "DSIO_FILTERS_USER" in capsys.readouterr().err


# --- batch argument parsing ----------------------------------------------------------------------
def parsed_steps(*args: str) -> list[tuple[Filter, str]]:
    parser = build_parser()
    ns = parser.parse_args(["batch", "in", "out", *args])
    return [(s.filter, s.accept) for s in steps(parser, ns.filters, getattr(ns, "default_accept", None))]


def test_each_filter_takes_the_options_that_follow_it() -> None:
    assert parsed_steps(
        "--filter",
        "supreme",
        "--task",
        "endodontic",
        "--sharpness",
        "70",
        "--filter",
        "select",
        "--mode",
        "edgePro",
        "--accept",
        "image/png",
        "--jobs",
        "8",
    ) == [(Filter.supreme("endodontic", 70), "image/png"), (Filter.select("edgePro"), "image/png")]


def test_the_one_word_form_says_the_same() -> None:
    assert parsed_steps("--filter", "supreme:task=endodontic,sharpness=70", "--filter", "ae:accept=tiff") == [
        (Filter.supreme("endodontic", 70), "image/png"),
        (Filter.ae(), "image/tiff"),
    ]


def test_accept_before_any_filter_is_every_filter_default() -> None:
    assert [
        a for _, a in parsed_steps("--accept", "jpeg", "--filter", "unmap", "--filter", "select", "--accept", "gif")
    ] == ["image/jpeg", "image/gif"]


@pytest.mark.parametrize(
    "args",
    [
        ["--task", "general", "--filter", "supreme"],
        ["--filter", "unmap", "--task", "x"],
        ["--filter", "select", "--sharpness", "5"],
        ["--filter", "ae", "--task", "hygiene"],
        ["--filter", "blur"],
        [],
    ],
)
def test_a_bad_filter_group_is_a_usage_error(args: list[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        parsed_steps(*args)
    assert caught.value.code == 2


# --- batch -------------------------------------------------------------------------------------
BINNED = sample_image_info("Binned2x2")
DEFAULT = sample_image_info()
FILTERS = [
    "--filter",
    "supreme",
    "--task",
    "endodontic",
    "--sharpness",
    "70",
    "--filter",
    "select",
    "--mode",
    "edgePro",
    "--accept",
    "image/png",
]
OUTPUTS = {
    "supreme": ("{}.supreme-endodontic-70.png", {"task": "endodontic", "sharpness": 70}),
    "select": ("{}.select-edgePro.png", {"enhancementMode": "edgePro"}),
}


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """in/a.png (sidecar: binned), in/b.png (no sidecar), in/sub/c.png (sidecar: unbinned), default.json."""
    folder = tmp_path / "in"
    write_png(folder / "a.png", seed=1, info=BINNED)
    write_png(folder / "b.png", seed=2)
    write_png(folder / "sub" / "c.png", seed=3, info=DEFAULT)
    (tmp_path / "default.json").write_text(json.dumps(DEFAULT))
    return folder


async def batch(cli: Cli, inputs: Path, *extra: str) -> int:
    out = inputs.parent / "out"
    return await cli(
        "batch",
        str(inputs),
        str(out),
        "-r",
        "--image-info",
        str(inputs.parent / "default.json"),
        *FILTERS,
        "--jobs",
        "2",
        "--progress",
        "lines",
        *extra,
    )


async def test_batch_outputs_are_those_of_direct_requests(cli: Cli, server: FiltersTestServer, inputs: Path) -> None:
    assert await batch(cli, inputs) == 0
    out = inputs.parent / "out"
    for relative, info in [("a", BINNED), ("b", DEFAULT), ("sub/c", DEFAULT)]:
        media = (inputs / f"{relative}.png").read_bytes()
        for name, (pattern, body) in OUTPUTS.items():
            written = (out / pattern.format(relative)).read_bytes()
            assert written == await direct_filter(server, media, info, name, body), (relative, name)


async def test_batch_leaves_nothing_on_the_server(cli: Cli, server: FiltersTestServer, inputs: Path) -> None:
    assert await batch(cli, inputs) == 0
    await server.app[keys.BACKGROUND].drain()
    assert server.storage.keys() == []


async def test_batch_json_report(cli: Cli, inputs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert await batch(cli, inputs, "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert {k: report[k] for k in ("inputs", "done", "skipped", "failed", "outputs", "interrupted")} == {
        "inputs": 3,
        "done": 3,
        "skipped": 0,
        "failed": 0,
        "outputs": 6,
        "interrupted": False,
    }
    assert report["bytesWritten"] == sum(p.stat().st_size for p in (inputs.parent / "out").rglob("*.png"))


async def test_a_corrupt_file_is_reported_and_the_others_are_done(
    cli: Cli, inputs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (inputs / "broken.png").write_bytes(png16()[:200])  # cut short
    assert await batch(cli, inputs, "--json") == 1
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert (report["done"], report["failed"]) == (3, 1)
    assert [(e["file"], e["status"]) for e in report["errors"]] == [("broken.png", 400)]
    assert "broken.png" in captured.err
    assert len(list((inputs.parent / "out").rglob("*.png"))) == 6


async def test_an_input_without_any_image_info_fails_alone(
    cli: Cli, inputs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await cli("batch", str(inputs), str(inputs.parent / "out"), "--filter", "unmap", "--json")
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and (report["done"], report["failed"]) == (1, 1)  # a.png has a sidecar, b.png nothing
    assert "no ImageInfo" in report["errors"][0]["error"]


async def test_a_rerun_skips_finished_files_without_a_request(
    cli: Cli, server: FiltersTestServer, recorder: Recorder, inputs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await batch(cli, inputs) == 0
    out = inputs.parent / "out"
    # As an interrupted run leaves it: one output missing, its half-written temporary file beside it.
    (out / "b.select-edgePro.png").unlink()
    (out / ".b.select-edgePro.png.0123456789ab.part").write_bytes(b"half")
    capsys.readouterr()
    recorder.requests.clear()

    assert await batch(cli, inputs, "--json") == 0

    report = json.loads(capsys.readouterr().out)
    assert (report["skipped"], report["done"], report["outputs"]) == (2, 1, 1)
    base = server.settings.base_path
    posts = recorder.paths("POST")
    assert posts[0] == f"{base}/images" and len(posts) == 2 and posts[1].endswith("/filters/select")
    assert (out / "b.select-edgePro.png").read_bytes() == await direct_filter(
        server, (inputs / "b.png").read_bytes(), DEFAULT, "select", {"enhancementMode": "edgePro"}
    )


async def test_the_name_pattern_and_sub_folders(cli: Cli, inputs: Path) -> None:
    out = inputs.parent / "out"
    code = await cli(
        "batch",
        str(inputs),
        str(out),
        "-r",
        "--image-info",
        str(inputs.parent / "default.json"),
        "--filter",
        "unmap:accept=tiff",
        "--name",
        "{filter}/{stem}.{ext}",
        "--progress",
        "lines",
    )
    assert code == 0
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.*")) == [
        "sub/unmap/c.tiff",
        "unmap/a.tiff",
        "unmap/b.tiff",
    ]


async def test_a_pattern_giving_two_filters_one_name_is_a_usage_error(cli: Cli, inputs: Path) -> None:
    with pytest.raises(SystemExit) as caught:
        await cli(
            "batch",
            str(inputs),
            str(inputs.parent / "out"),
            "--filter",
            "unmap",
            "--filter",
            "select",
            "--name",
            "{stem}.{ext}",
        )
    assert caught.value.code == 2


async def test_out_dir_equal_to_in_dir_is_a_usage_error(cli: Cli, inputs: Path) -> None:
    with pytest.raises(SystemExit) as caught:
        await cli("batch", str(inputs), str(inputs), "--filter", "unmap")
    assert caught.value.code == 2


async def test_upload_without_any_image_info_says_so(
    cli: Cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_png(tmp_path / "lonely.png")
    assert await cli("upload", str(source)) == 1
    assert "no ImageInfo" in capsys.readouterr().err


async def test_the_live_bar_counts_every_file(cli: Cli, inputs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = inputs.parent / "out"
    code = await cli(
        "batch",
        str(inputs),
        str(out),
        "-r",
        "--image-info",
        str(inputs.parent / "default.json"),
        "--filter",
        "unmap",
        "--progress",
        "bar",
    )
    assert code == 0
    err = capsys.readouterr().err
    assert "3/3" in err and "3 done" in err


async def test_credentials_from_a_netrc_file_option(
    server: FiltersTestServer, no_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login {TEST_USER} password {TEST_PASSWORD}\n")
    netrc.chmod(0o600)
    code = await asyncio.to_thread(
        main, ["--url", server.base_url, "--netrc", str(netrc), "info", "3b0f4b52-0000-4000-8000-000000000000"]
    )
    assert code == 1 and "404" in capsys.readouterr().err  # authenticated: not found rather than 401


async def test_a_password_env_that_is_not_set_is_a_usage_error(
    server: FiltersTestServer, no_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await asyncio.to_thread(
        main, ["--url", server.base_url, "--user", "x", "--password-env", "NOPE_NOT_SET", "check"]
    )
    assert code == 2 and "NOPE_NOT_SET" in capsys.readouterr().err


async def test_keep_leaves_the_resources_on_the_server(
    cli: Cli, server: FiltersTestServer, inputs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await batch(cli, inputs, "--keep") == 0
    await server.app[keys.BACKGROUND].drain()
    stored = server.storage.keys()
    assert len([key for key in stored if key.endswith("/meta.json")]) == 3


async def test_connection_options_may_follow_the_subcommand(
    server: FiltersTestServer, no_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await asyncio.to_thread(main, ["check", "--url", server.base_url, "--retries", "0"]) == 0
    assert json.loads(capsys.readouterr().out)["apiVersion"] == "1.0"
