"""Typed application keys: everything with a lifetime hangs off the app, never a global."""

from __future__ import annotations

from aiohttp import web

from backends import Storage
from filters_server.clients.modality import ModalityClient
from filters_server.config import Settings
from filters_server.core.authentication import Authenticator
from filters_server.core.background import BackgroundTasks
from filters_server.core.index import Clock, ResourceIndex
from filters_server.core.pixel_budget import PixelBudget
from filters_server.core.results import ResultCache
from filters_server.core.sessions import SessionWatch
from filters_server.core.workers import WorkerPool

SETTINGS = web.AppKey("settings", Settings)
STORAGE = web.AppKey("storage", Storage)
INDEX = web.AppKey("index", ResourceIndex)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
WORKERS = web.AppKey("workers", WorkerPool)
BACKGROUND = web.AppKey("background", BackgroundTasks)
RESULTS = web.AppKey("results", ResultCache)
PIXELS = web.AppKey("pixels", PixelBudget)
MODALITY = web.AppKey("modality", ModalityClient)  # only with --modality-url (or injected)
SESSIONS = web.AppKey("modality_sessions", SessionWatch)
AUTHENTICATOR = web.AppKey("authenticator", Authenticator)
