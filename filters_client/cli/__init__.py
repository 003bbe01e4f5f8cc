"""``dsio-filters``: the command line of the Filters API client.

Subcommands: check, upload, info, download, filter, delete, batch (``dsio-filters SUBCOMMAND --help``).
Exit status: 0 success, 1 a request or an input failed, 2 bad usage, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..client import FiltersClient
from ..errors import FiltersError, Unauthorized
from ..models import SelectMode, Task
from ..retry import RetryPolicy
from ..settings import (
    DEFAULT_URL,
    ENV_PASSWORD,
    ENV_URL,
    ENV_USER,
    CredentialsError,
    Timeouts,
)
from . import commands
from .batch import DEFAULT_NAME, NAME_FIELDS, Batch, BatchOptions, check_pattern
from .filtergroups import FilterAction, FilterOptionAction, steps
from .progress import choose

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

_CONNECTION_HELP = f"""
connection (before or after the subcommand):
  The service URL is --url, else ${ENV_URL}, else {DEFAULT_URL}.
  The user is --user, else ${ENV_USER}, else the login of the URL host's entry in ~/.netrc ($NETRC).
  The password is never an argument: the variable named by --password-env, else ${ENV_PASSWORD},
  else the netrc entry, else a prompt when stdin is a terminal.
"""


def _connection_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    default: Any = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("connection")
    group.add_argument("--url", default=default, help=f"service base URL (env {ENV_URL}; default {DEFAULT_URL})")
    group.add_argument("--user", default=default, help=f"user name (env {ENV_USER}, or ~/.netrc)")
    group.add_argument(
        "--password-env",
        metavar="VAR",
        default=default,
        help=f"read the password from environment variable VAR (default: {ENV_PASSWORD}, then ~/.netrc)",
    )
    group.add_argument(
        "--netrc", metavar="FILE", default=default, help="netrc file to read (default: $NETRC or ~/.netrc)"
    )
    group.add_argument(
        "--ca-file", metavar="PEM", default=default, help="trust this CA for https:// (e.g. var/tls/ca.pem)"
    )
    group.add_argument(
        "--insecure", action="store_true", default=default, help="do not verify TLS certificates (development only)"
    )
    group.add_argument(
        "--timeout",
        type=_positive_float,
        metavar="SECONDS",
        default=default,
        help="connect and per-read timeout (default: 10 s to connect, 300 s per read)",
    )
    group.add_argument(
        "--retries",
        type=_non_negative_int,
        metavar="N",
        default=default,
        help="retries of a failed request (connection errors, 429, 503; default 3)",
    )


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="dsio-filters",
        formatter_class=formatter,
        description="Client of the DSIO Intraoral Filters API v1: upload 16-bit X-ray PNGs, filter them, "
        "download the results.",
        epilog=_CONNECTION_HELP + "\nexit status: 0 ok, 1 a request or an input failed, 2 bad usage, 130 interrupted",
    )
    _connection_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", required=True)

    def add(name: str, help: str, description: str, epilog: str = "") -> argparse.ArgumentParser:
        command = sub.add_parser(
            name, help=help, description=description, epilog=epilog + _CONNECTION_HELP, formatter_class=formatter
        )
        _connection_options(command, suppress=True)
        return command

    add(
        "check",
        "is the service up? (GET {base}/)",
        "Ask the service root (no credentials needed) and print what it says; exit 1 if it does not answer.",
    )

    upload = add(
        "upload",
        "create an image resource from a PNG",
        "Upload a 16-bit grayscale PNG with its ImageInfo "
        "and print the ImageResource (JSON). The PNG is streamed, never read whole.",
    )
    upload.add_argument("file", type=Path, help="the PNG")
    upload.add_argument(
        "--image-info",
        type=Path,
        metavar="JSON",
        help="its ImageInfo (default: the sidecar FILE with .json instead of .png)",
    )
    upload.add_argument("--id-only", action="store_true", help="print only the new resource's id")

    info = add("info", "print an ImageResource", "Print the ImageResource (JSON) of an id.")
    info.add_argument("id", help="resource id")

    download = add(
        "download",
        "download a resource's media",
        "Download the media (the PNG) of a resource. "
        "An interrupted download leaves OUT.part and resumes from it (Range + If-Range).",
    )
    download.add_argument("id", help="resource id")
    download.add_argument(
        "-o", "--output", type=Path, required=True, metavar="OUT", help="file to write; '-' for stdout"
    )
    download.add_argument("--no-resume", action="store_true", help="start again even if OUT.part exists")

    filt = add(
        "filter",
        "apply one filter to a resource",
        "Apply a filter to an uploaded resource and write its "
        "output (written under a temporary name, renamed when complete).",
    )
    filt.add_argument("id", help="resource id")
    filt.add_argument("name", choices=("unmap", "select", "supreme", "ae"), help="the filter")
    filt.add_argument(
        "--mode", choices=[m.value for m in SelectMode], help="select: enhancement mode (default edgePro)"
    )
    filt.add_argument(
        "--task", choices=[t.value for t in Task], help="supreme/ae: clinical task (default general; ae has no hygiene)"
    )
    filt.add_argument("--sharpness", type=float, help="supreme/ae: 0-100 (default 70)")
    filt.add_argument(
        "--accept",
        default="image/png",
        help="output format: png, tiff (16-bit), jpeg, gif (8-bit) or a media type (default image/png)",
    )
    filt.add_argument("-o", "--output", type=Path, required=True, metavar="OUT", help="file to write; '-' for stdout")

    delete = add("delete", "delete resources", "Delete image resources (their media and every filter result).")
    delete.add_argument("ids", nargs="+", metavar="ID", help="resource id(s)")
    delete.add_argument("--missing-ok", action="store_true", help="an id that does not exist is not an error")

    batch = add(
        "batch",
        "filter every PNG of a folder",
        "Upload every PNG of IN_DIR, apply each --filter, write the "
        "outputs to OUT_DIR (same sub-folders), delete the resources. Outputs already present are skipped, "
        "so an interrupted batch resumes where it stopped. Ctrl-C stops cleanly: no new work, work in "
        "flight cancelled, its server resources deleted.",
        epilog="filters: --filter NAME, then that filter's options:\n"
        "  dsio-filters batch in out --filter supreme --task endodontic --sharpness 70 \\\n"
        "                            --filter select --mode edgePro --accept image/png --jobs 8\n"
        "  or in one word: --filter supreme:task=endodontic,sharpness=70,accept=tiff\n"
        "  --accept before any --filter is the default format of every filter.\n"
        "ImageInfo: the sidecar NAME.json beside NAME.png, else --image-info.\n"
        f"--name fields: {NAME_FIELDS}\n",
    )
    batch.add_argument("in_dir", type=Path, metavar="IN_DIR", help="folder of PNGs")
    batch.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="folder for the outputs (created)")
    batch.add_argument("-r", "--recursive", action="store_true", help="also PNGs in sub-folders (kept in OUT_DIR)")
    batch.add_argument(
        "--filter",
        dest="filters",
        action=FilterAction,
        metavar="NAME[:key=value,...]",
        help="a filter to apply (repeat for several): unmap, select, supreme, ae",
    )
    batch.add_argument(
        "--mode",
        dest="mode",
        action=FilterOptionAction,
        help=f"select's enhancement mode: {', '.join(m.value for m in SelectMode)} (default edgePro)",
    )
    batch.add_argument(
        "--task",
        dest="task",
        action=FilterOptionAction,
        help=f"supreme/ae task: {', '.join(t.value for t in Task)} (default general)",
    )
    batch.add_argument(
        "--sharpness", dest="sharpness", action=FilterOptionAction, help="supreme/ae: 0-100 (default 70)"
    )
    batch.add_argument(
        "--accept",
        dest="accept",
        action=FilterOptionAction,
        help="output format of the filter before it (png, tiff, jpeg, gif or a media type; default png)",
    )
    batch.add_argument("--image-info", type=Path, metavar="JSON", help="ImageInfo for PNGs without a sidecar")
    batch.add_argument("--name", default=DEFAULT_NAME, help=f"output file name pattern (default {DEFAULT_NAME!r})")
    batch.add_argument("--jobs", "-j", type=_positive_int, default=4, help="files in flight at once (default 4)")
    batch.add_argument("--keep", action="store_true", help="do not delete the server resources afterwards")
    batch.add_argument("--json", action="store_true", help="print a JSON report on stdout at the end")
    batch.add_argument(
        "--progress",
        choices=("auto", "bar", "lines"),
        default="auto",
        help="a live bar (bar), one line per file (lines), or bar on a terminal only (auto)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    options = _batch_options(args, parser) if args.command == "batch" else None
    try:
        client = _client(args, parser)
    except (CredentialsError, ValueError) as exc:
        print(f"dsio-filters: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return asyncio.run(_run(args, client, options))
    except KeyboardInterrupt:
        print("dsio-filters: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _client(args: argparse.Namespace, parser: argparse.ArgumentParser) -> FiltersClient:
    password = None
    if args.password_env:
        if args.password_env not in os.environ:
            raise CredentialsError(f"--password-env: ${args.password_env} is not set")
        password = os.environ[args.password_env]
    timeouts = Timeouts() if args.timeout is None else Timeouts(connect=args.timeout, read=args.timeout)
    retry = RetryPolicy() if args.retries is None else RetryPolicy(retries=args.retries)
    jobs = getattr(args, "jobs", 1)
    options: dict[str, Any] = {
        "user": args.user,
        "netrc_file": args.netrc,
        "ca_file": args.ca_file,
        "verify": not args.insecure,
        "timeouts": timeouts,
        "retry": retry,
        "connections": jobs + 2,
    }
    try:
        return FiltersClient(args.url, password=password, **options)
    except CredentialsError:
        if not sys.stdin.isatty():
            raise
        user = args.user or os.environ.get(ENV_USER)
        return FiltersClient(args.url, password=getpass.getpass(f"password for {user}: "), **options)


async def _run(args: argparse.Namespace, client: FiltersClient, options: BatchOptions | None) -> int:
    async with client:
        try:
            if options is not None:
                return await _batch(args, client, options)
            return await commands.run(args, client)
        except Unauthorized as exc:
            hint = "" if client.credentials else f" (no credentials: set {ENV_USER} and {ENV_PASSWORD}, or ~/.netrc)"
            print(f"dsio-filters: {exc}{hint}", file=sys.stderr)
            return EXIT_FAILED
        except (FiltersError, OSError, ValueError) as exc:
            print(f"dsio-filters: {exc}", file=sys.stderr)
            return EXIT_FAILED


def _batch_options(args: argparse.Namespace, parser: argparse.ArgumentParser) -> BatchOptions:
    chosen = tuple(steps(parser, args.filters, getattr(args, "default_accept", None)))
    try:
        check_pattern(args.name, chosen)
    except ValueError as exc:
        parser.error(str(exc))
    if not args.in_dir.is_dir():
        parser.error(f"IN_DIR {args.in_dir} is not a folder")
    if args.out_dir.resolve() == args.in_dir.resolve():
        parser.error("OUT_DIR must not be IN_DIR: the outputs would be taken for inputs next time")
    image_info = None
    if args.image_info is not None:
        try:
            image_info = json.loads(args.image_info.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            parser.error(f"--image-info {args.image_info}: {exc}")
        if not isinstance(image_info, dict):
            parser.error(f"--image-info {args.image_info}: not a JSON object")
    return BatchOptions(
        in_dir=args.in_dir,
        out_dir=args.out_dir,
        steps=chosen,
        recursive=args.recursive,
        name=args.name,
        image_info=image_info,
        jobs=args.jobs,
        keep=args.keep,
    )


async def _batch(args: argparse.Namespace, client: FiltersClient, options: BatchOptions) -> int:
    live = {"auto": None, "bar": True, "lines": False}[args.progress]
    progress = choose(live)
    batch = Batch(client, options, progress)
    loop = asyncio.get_running_loop()

    def interrupted() -> None:
        progress.note(
            "stopping: no new files; cancelling work in flight and deleting its resources "
            "(Ctrl-C again to abort at once)"
        )
        batch.stop.set()
        loop.remove_signal_handler(signal.SIGINT)  # a second Ctrl-C is a plain KeyboardInterrupt

    try:
        loop.add_signal_handler(signal.SIGINT, interrupted)
        installed = True
    except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
        installed = False
    try:
        report = await batch.run()
    finally:
        if installed:
            loop.remove_signal_handler(signal.SIGINT)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    progress.note(report.summary())
    if report.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if report.failed else EXIT_OK
