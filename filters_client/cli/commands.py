"""The single-resource subcommands: check, upload, info, download, filter, delete."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from ..client import FiltersClient
from ..models import Filter


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2))


async def run(args: argparse.Namespace, client: FiltersClient) -> int:
    """Run one subcommand; errors propagate to the caller, which reports them."""
    command = args.command
    if command == "check":
        _print_json(await client.check())
    elif command == "upload":
        info_path: Path = args.image_info or args.file.with_suffix(".json")
        try:
            info = json.loads(await asyncio.to_thread(info_path.read_text, encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(f"no ImageInfo: {info_path} does not exist (give --image-info FILE)") from None
        resource = await client.upload(args.file, info, filename=args.file.name)
        print(resource.id) if args.id_only else _print_json(resource.to_json())
    elif command == "info":
        _print_json((await client.get(args.id)).to_json())
    elif command == "download":
        if str(args.output) == "-":
            await _to_stdout(await client.media(args.id))
        else:
            await client.download_media(args.id, args.output, resume=not args.no_resume)
    elif command == "filter":
        chosen = Filter.named(args.name, mode=args.mode, task=args.task, sharpness=args.sharpness)
        if str(args.output) == "-":
            await _to_stdout(await client.apply(args.id, chosen, accept=args.accept))
        else:
            await client.apply(args.id, chosen, accept=args.accept, to=args.output)
    elif command == "delete":
        missing = 0
        for image_id in args.ids:
            if not await client.delete(image_id, missing_ok=args.missing_ok):
                missing += 1
                print(f"{image_id}: not found", file=sys.stderr)
    else:  # pragma: no cover - argparse only lets known subcommands through
        raise AssertionError(command)
    return 0


async def _to_stdout(data: bytes) -> None:
    await asyncio.to_thread(sys.stdout.buffer.write, data)
    await asyncio.to_thread(sys.stdout.buffer.flush)
