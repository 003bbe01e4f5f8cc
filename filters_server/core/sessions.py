"""Session-bound lifetime of modality resources: "is this Modality session still active?".

The spec says a resource created from a Modality session "will only be available as long as
the modality session is active". Every lookup of such a resource (GET, media, filters) asks
the Modality API, but an answer is cached per session id for ``--modality-session-check-seconds``
and concurrent checks of one session share a single request, so a burst of filter calls does
not hammer the Modality API.

Three outcomes: active (serve), ended (the Modality API answered 404: answer 410 and remove the
resource), unknown (unreachable or misbehaving: serve what we have - an outage of the Modality
API must not destroy resources whose session may well still be alive; they still expire).
"""

from __future__ import annotations

import asyncio
import enum
import logging

from filters_server.clients.modality import ModalityBadId, ModalityClient, ModalityError
from filters_server.core.errors import SessionEnded
from filters_server.core.index import Clock, ResourceIndex
from filters_server.core.resource import Resource

log = logging.getLogger(__name__)
_PRUNE_AT = 4096  # cache entries before expired ones are dropped


class SessionState(enum.Enum):
    ACTIVE = "active"
    ENDED = "ended"
    UNKNOWN = "unknown"


class SessionWatch:
    """Cached, coalesced ``session_active`` answers of one Modality API."""

    def __init__(self, client: ModalityClient, clock: Clock, ttl: float) -> None:
        self.client = client
        self.clock = clock
        self.ttl = ttl
        self._answers: dict[str, tuple[float, SessionState]] = {}  # id -> (valid until, state)
        self._pending: dict[str, asyncio.Task[SessionState]] = {}

    async def state(self, session_id: str) -> SessionState:
        cached = self._answers.get(session_id)
        if cached is not None and self.clock() < cached[0]:
            return cached[1]
        task = self._pending.get(session_id)
        if task is None:
            task = asyncio.create_task(self._ask(session_id), name=f"modality-session-check {session_id}")
            self._pending[session_id] = task
            task.add_done_callback(lambda done: self._forget(session_id, done))
        # Shielded: one caller going away must not cancel the check the others wait for.
        return await asyncio.shield(task)

    def _forget(self, session_id: str, task: asyncio.Task[SessionState]) -> None:
        if self._pending.get(session_id) is task:
            del self._pending[session_id]

    async def _ask(self, session_id: str) -> SessionState:
        try:
            state = SessionState.ACTIVE if await self.client.session_active(session_id) else SessionState.ENDED
        except ModalityBadId:
            state = SessionState.ENDED  # cannot be a live session (only possible with tampered metadata)
        except ModalityError as exc:
            log.warning("cannot check modality session %s, serving from storage: %s", session_id, exc)
            state = SessionState.UNKNOWN
        self._remember(session_id, state)
        return state

    def _remember(self, session_id: str, state: SessionState) -> None:
        now = self.clock()
        if len(self._answers) >= _PRUNE_AT:
            self._answers = {k: v for k, v in self._answers.items() if v[0] > now}
        # UNKNOWN is cached too: while the Modality API is down, each request would
        # otherwise wait for the full timeout.
        self._answers[session_id] = (now + self.ttl, state)


async def ensure_session_active(index: ResourceIndex, watch: SessionWatch | None, resource: Resource) -> None:
    """Raise :class:`SessionEnded` (and remove the resource) if its Modality session has ended.

    Resources without a session pass. Without a configured Modality API the session cannot be
    checked, so the resource is served until it expires (as when the API is unreachable).
    """
    if resource.modality_session is None or watch is None:
        return
    state = await watch.state(resource.modality_session["sessionId"])
    if state is SessionState.ENDED:
        await asyncio.shield(index.remove(resource))
        raise SessionEnded("The modality session of this image resource has ended; the resource has been removed.")
