"""Serving: one process, or ``--processes N`` processes on one port sharing one store.

Each process is a complete server (its own event loop, worker pool, caches) listening on the
same port with ``SO_REUSEPORT``, so the kernel spreads connections across them. They share the
storage much as replicas of a fleet share S3: nothing one process deletes is served by another
(they share a count of removals in memory, :mod:`filters_server.core.removals`, and a process
checks the store again for a resource it knows once any process has removed something), sweeping
is idempotent, and writes are atomic renames. The supervising parent only starts the children,
forwards SIGTERM/SIGINT (and SIGHUP, which reloads the users file) to them, and exits when any of
them exits (with its status), so a process manager restarts the whole set rather than running
with fewer processes than configured.
"""

from __future__ import annotations

import logging
import os
import signal
import ssl
import sys
from types import FrameType

from aiohttp import web

from backends import file_url_path
from backends.local import LocalStorage
from filters_server.api.connections import run_app
from filters_server.app import create_app
from filters_server.config import Settings
from filters_server.core.removals import Removals, shared_slots
from filters_server.core.users import Credential
from filters_server.logsetup import configure_logging

log = logging.getLogger(__name__)


def run_one(settings: Settings, app: web.Application, ssl_context: ssl.SSLContext | None) -> None:
    """Serve ``app`` in this process until SIGTERM/SIGINT.

    Logging (a queue and its writer thread, filters_server.logsetup) is set up here, in the
    process that serves: a thread does not survive a fork. The access log is the audit log
    (filters_server.api.audit), which create_app installs.
    """
    listener = configure_logging(settings.log_level, settings.log_format)
    try:
        log.info(
            "serving %s://%s:%d%s/ with storage %s%s",
            "https" if ssl_context else "http",
            settings.host,
            settings.port,
            settings.base_path,
            settings.storage,
            f" (process {os.getpid()} of {settings.processes})" if settings.processes > 1 else "",
        )
        run_app(  # aiohttp's run_app with the --max-connections cap (per process)
            app,
            host=settings.host,
            port=settings.port,
            ssl_context=ssl_context,
            reuse_port=settings.processes > 1,
        )
    finally:
        listener.stop()


def serve(
    settings: Settings, users: dict[str, Credential], ssl_context: ssl.SSLContext | None, app: web.Application
) -> int:
    """Serve with ``settings.processes`` processes; returns the exit status.

    ``app`` serves a single process; with several, each child builds its own after the fork
    (an event loop, pools and clients must not be shared across processes).
    """
    if settings.processes == 1:
        run_one(settings, app, ssl_context)
        return 0
    if settings.storage.startswith("file:"):
        # The one moment no process uses the directory: clear what crashed writers left.
        LocalStorage(file_url_path(settings.storage)).recover()
    children: list[int] = []
    slots = shared_slots(settings.processes)  # before the fork: every child maps the same memory
    for number in range(settings.processes):
        pid = os.fork()
        if pid == 0:  # the child: a whole server of its own
            status = 0
            try:
                run_one(settings, create_app(settings, users=users, removals=Removals(slots, number)), ssl_context)
            except BaseException:
                log.exception("server process failed")
                status = 1
            finally:
                logging.shutdown()
                os._exit(status)
        children.append(pid)
    listener = configure_logging(settings.log_level, settings.log_format)
    try:
        log.info("started %d server processes: %s", len(children), ", ".join(map(str, children)))
        return _supervise(children)
    finally:
        listener.stop()


def _supervise(children: list[int]) -> int:
    def forward(signum: int, _frame: FrameType | None) -> None:
        for pid in children:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGHUP, forward)  # each process reloads --users-file itself
    pid, status = os.wait()  # the first child to end ends the set
    children.remove(pid)
    code = os.waitstatus_to_exitcode(status)
    if children:
        log.warning("server process %d exited (%d); stopping the others", pid, code)
        forward(signal.SIGTERM, None)
        for other in children:
            os.waitpid(other, 0)
    return code if code >= 0 else 128 - code  # killed by a signal: the shell's convention


if __name__ == "__main__":  # pragma: no cover - started through filters-server
    sys.exit("use filters-server --processes N")
