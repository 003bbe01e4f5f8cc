"""Typed application keys: everything with a lifetime hangs off the app, never a global."""

from __future__ import annotations

from aiohttp import web

from backends import Storage

from .background import BackgroundTasks
from .config import Settings
from .decoded import DecodedImages
from .index import Clock, ResourceIndex, Sweeper
from .modality import ModalityClient
from .sessions import SessionWatch
from .workers import WorkerPool

SETTINGS = web.AppKey("settings", Settings)
STORAGE = web.AppKey("storage", Storage)
INDEX = web.AppKey("index", ResourceIndex)
CLOCK = web.AppKey("clock", Clock)  # type: ignore[arg-type]
SWEEPER = web.AppKey("sweeper", Sweeper)
WORKERS = web.AppKey("workers", WorkerPool)
BACKGROUND = web.AppKey("background", BackgroundTasks)
MODALITY = web.AppKey("modality", ModalityClient)  # only with --modality-url (or injected)
SESSIONS = web.AppKey("modality_sessions", SessionWatch)
DECODED = web.AppKey("decoded", DecodedImages)
RESULTS_BEING_STORED = web.AppKey("results_being_stored", dict[str, bytes])  # key -> bytes
