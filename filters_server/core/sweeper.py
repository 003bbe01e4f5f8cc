"""The background sweeper: removes expired resources every few seconds, whatever happens."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from backends import StorageUnavailable
from filters_server.core.index import ResourceIndex

log = logging.getLogger(__name__)


class Sweeper:
    """Runs :meth:`ResourceIndex.sweep` every ``interval`` seconds until cancelled."""

    def __init__(self, index: ResourceIndex, interval: float, on_swept: Callable[[int], object] | None = None) -> None:
        self.index = index
        self.interval = interval
        self.on_swept = on_swept

    async def run(self) -> None:
        while True:
            try:
                removed = await self.index.sweep()
            except asyncio.CancelledError:
                raise
            except StorageUnavailable as exc:  # an outage: one line per attempt, no traceback
                log.warning("sweep skipped, storage unavailable: %s", exc)
            except Exception:  # keep sweeping after anything else, loudly
                log.exception("sweep failed")
            else:
                if removed:
                    log.info("swept %d expired resources", removed)
                    if self.on_swept is not None:
                        self.on_swept(removed)
            await asyncio.sleep(self.interval)
