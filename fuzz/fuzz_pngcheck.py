"""Coverage-guided fuzzing of the streaming PNG validator with atheris (longer runs, outside CI).

    pip install atheris
    python fuzz/fuzz_pngcheck.py -max_total_time=600 fuzz/corpus/pngcheck

Every input is fed in two chunkings (whole, and split at a point taken from the input). The
properties are the ones the test suite checks with Hypothesis: nothing but ``PngRejected``
escapes, both chunkings agree, and the work counter stays linear in the input size.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

with atheris.instrument_imports():
    from filters_server.core.pngcheck import PngRejected, PngValidator

WORK_PER_BYTE = 8  # generous bound on parser steps + zlib calls per input byte


def outcome(data: bytes, split: int) -> tuple[str, int]:
    validator = PngValidator(max_pixels=4_000_000)
    try:
        for piece in (data[:split], data[split:]):
            if piece:
                validator.feed(piece)
        info = validator.finish()
        return f"ok {info.width}x{info.height}", validator.work
    except PngRejected as exc:
        return type(exc).__name__, validator.work


def test_one_input(data: bytes) -> None:
    split = data[0] * len(data) // 256 if data else 0
    whole, work = outcome(data, len(data))
    split_result, _ = outcome(data, split)
    if whole.startswith("ok") != split_result.startswith("ok"):
        raise AssertionError(f"chunking changed the verdict: {whole} vs {split_result}")
    if work > WORK_PER_BYTE * (len(data) + 64):
        raise AssertionError(f"work {work} for {len(data)} bytes is not linear")


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
