"""A DSIO Intraoral Modality API v1 simulator: fake sensors that produce synthetic radiographs.

Run ``filters-modality-sim`` (or ``python -m filters_server.simulator``) to serve it, or build the
aiohttp application in-process with :func:`create_app` for tests.
"""

from .app import DEFAULT_BASE_PATH, SIMULATOR, create_app

__all__ = ["DEFAULT_BASE_PATH", "SIMULATOR", "create_app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Console entry point (``filters-modality-sim``)."""
    from .__main__ import main as _main

    _main(argv)
