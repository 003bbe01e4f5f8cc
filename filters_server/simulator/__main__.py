"""Command line: ``filters-modality-sim [--host H] [--port P] [--users u:p,...] [--seed N] ...``."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from aiohttp import web

from .app import DEFAULT_BASE_PATH, create_app
from .sensors import CATALOGUE

DEFAULT_USERS = "sim:sim"


def parse_users(text: str) -> dict[str, str]:
    """``name:password[,name:password...]``; a password may itself contain ':'."""
    users: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, password = item.partition(":")
        if not sep or not name:
            raise argparse.ArgumentTypeError(f"expected name:password, got {item!r}")
        users[name] = password
    if not users:
        raise argparse.ArgumentTypeError("at least one name:password is required")
    return users


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="filters-modality-sim",
        description="Simulated DSIO Intraoral Modality API v1 (three fake sensors, synthetic "
        "radiographs) for developing and testing against the filters server.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=43810, help="port (default 43810)")
    parser.add_argument(
        "--users",
        type=parse_users,
        default=None,
        help=f"Basic auth users as name:password[,...] (env FILTERS_SIM_USERS; default {DEFAULT_USERS})",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed for ids and images: same seed + same calls = same results"
    )
    parser.add_argument("--base-path", default=DEFAULT_BASE_PATH, help=f"API base path (default {DEFAULT_BASE_PATH})")
    parser.add_argument(
        "--auto-expose",
        type=float,
        default=None,
        metavar="SECONDS",
        help="expose automatically this long after a session is enabled "
        "(default: only via POST .../acquisition/{sessionId}/expose)",
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    users = args.users
    if users is None:
        env = os.environ.get("FILTERS_SIM_USERS")
        users = parse_users(env) if env else parse_users(DEFAULT_USERS)
        if not env:
            print(f"filters-modality-sim: no users given, using {DEFAULT_USERS}", file=sys.stderr)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    app = create_app(users, seed=args.seed, base_path=args.base_path, auto_expose=args.auto_expose)
    base = "/" + args.base_path.strip("/")
    print(f"filters-modality-sim: http://{args.host}:{args.port}{base}  devices:", file=sys.stderr)
    for device in CATALOGUE:
        s = device.sensor
        print(f"  {device.device_id}  {s.family:<9} {s.width}x{s.height} @ {s.pixel_size_mm} mm", file=sys.stderr)
    web.run_app(app, host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
