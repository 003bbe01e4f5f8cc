"""``--filter NAME`` followed by that filter's own options, in command-line order.

argparse runs actions in the order options appear, so ``--task``/``--mode``/``--sharpness``/``--accept``
attach to the ``--filter`` before them. ``--filter supreme:task=endodontic,sharpness=70`` says
the same in one word. An ``--accept`` before any ``--filter`` is the default of every filter.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from typing import Any

from ..models import Filter, OutputFormat, media_type

PER_FILTER = ("mode", "task", "sharpness", "accept")


@dataclasses.dataclass
class FilterGroup:
    name: str
    options: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Step:
    """One output per input: a filter and the format it is asked for."""

    filter: Filter
    accept: str


class FilterAction(argparse.Action):
    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        assert isinstance(values, str)
        name, _, rest = values.partition(":")
        group = FilterGroup(name.strip())
        for item in filter(None, (part.strip() for part in rest.split(","))):
            key, sep, value = item.partition("=")
            key = key.strip().lower().replace("-", "_")
            if key == "enhancementmode":
                key = "mode"
            if not sep or key not in PER_FILTER:
                parser.error(f"--filter {values}: expected name:key=value,... with keys {', '.join(PER_FILTER)}")
            _set(parser, group, key, value.strip(), f"--filter {values}")
        groups = list(getattr(namespace, self.dest, None) or [])
        groups.append(group)
        setattr(namespace, self.dest, groups)


class FilterOptionAction(argparse.Action):
    """``--task`` etc.: belongs to the last ``--filter``; ``--accept`` before any sets the default."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        assert isinstance(values, str)
        groups = getattr(namespace, "filters", None) or []
        if not groups:
            if self.dest == "accept":
                namespace.default_accept = values
                return
            parser.error(f"{option_string} applies to the --filter before it; give --filter NAME first")
        _set(parser, groups[-1], self.dest, values, option_string or self.dest)


def _set(parser: argparse.ArgumentParser, group: FilterGroup, key: str, value: str, where: str) -> None:
    if key in group.options:
        parser.error(f"{where}: --filter {group.name} already has a {key}")
    group.options[key] = value


def steps(
    parser: argparse.ArgumentParser, groups: Sequence[FilterGroup] | None, default_accept: str | None
) -> list[Step]:
    """The filter groups as validated steps (``parser.error`` on a bad one)."""
    if not groups:
        parser.error("give at least one --filter (unmap, select, supreme or ae)")
    result: list[Step] = []
    for group in groups:
        options = group.options
        try:
            sharpness = float(options["sharpness"]) if "sharpness" in options else None
            chosen = Filter.named(group.name, mode=options.get("mode"), task=options.get("task"), sharpness=sharpness)
            accept = media_type(options.get("accept") or default_accept or OutputFormat.PNG)
        except ValueError as exc:
            parser.error(f"--filter {group.name}: {exc}")
        result.append(Step(chosen, accept))
    return result
