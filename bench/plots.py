"""The benchmark pictures (matplotlib, Agg backend: no display needed), drawn from the JSON the benchmarks print."""

from __future__ import annotations

import os
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

SERVERS = (
    ("project", "project POST /images", "-", "o"),
    ("floor zlib-ng", "floor: stream + inflate (zlib-ng)", "--", "s"),
    ("floor isal", "stream + inflate (ISA-L)", ":", "^"),
    ("bare disk", "bare stream to disk", "-.", "x"),
)


def upload_throughput(data: dict[str, Any], directory: str) -> str:
    """Upload MB/s against concurrency, one panel per image size, both corpora; returns the file written."""
    uploads = data["uploads"]
    sizes = sorted({u["image"] for u in uploads}, key=lambda label: "binned" in label)
    fig, axes = plt.subplots(1, len(sizes), figsize=(6 * len(sizes), 4.5), squeeze=False)
    colours = {"realistic": "tab:blue", "noise": "tab:orange"}
    for ax, size in zip(axes[0], sizes):
        for upload in (u for u in uploads if u["image"] == size):
            cells = upload["cells"]
            for key, label, style, marker in SERVERS:
                points = sorted(
                    (int(name.split("@")[1]), cell["mb_per_s"])
                    for name, cell in cells.items()
                    if name.split("@")[0] == key
                )
                ax.plot(
                    [p[0] for p in points],
                    [p[1] for p in points],
                    linestyle=style,
                    marker=marker,
                    color=colours[upload["corpus"]],
                    label=f"{upload['corpus']}: {label}",
                )
        ax.set_xscale("log", base=2)
        ax.set_xticks([1, 2, 4, 8], ["1", "2", "4", "8"])
        ax.set_xlabel("concurrent uploads")
        ax.set_ylabel("MB/s of PNG uploaded")
        ax.set_title(f"uploads, {size}")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "bench-uploads.png")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def cold_breakdown(data: dict[str, Any], directory: str) -> str:
    """Stacked bars: where a cold filter request spends its time, per filter; returns the file written."""
    filters = data["filters"]
    parts: list[str] = []
    for entry in sorted(filters, key=lambda entry: -len(entry["parts"])):  # the pipeline's order first
        for part in entry["parts"]:
            if part not in parts:
                parts.append(part)
    fig, ax = plt.subplots(figsize=(9, 5))
    cmap = plt.get_cmap("tab20")
    bottoms = [0.0] * len(filters)
    for index, part in enumerate(parts):
        values = [entry["parts"].get(part, 0.0) for entry in filters]
        ax.bar([e["label"] for e in filters], values, bottom=bottoms, label=part, color=cmap(index % 20))
        bottoms = [b + v for b, v in zip(bottoms, values)]
    for x, entry in enumerate(filters):
        ax.plot([x - 0.4, x + 0.4], [entry["cold_ms"]] * 2, color="black", linewidth=2)
    ax.plot([], [], color="black", linewidth=2, label="measured cold request (p50)")
    ax.set_ylabel("ms")
    ax.set_title(f"cold filter request, {data['image']}: where the time goes")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "bench-filters-cold.png")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
