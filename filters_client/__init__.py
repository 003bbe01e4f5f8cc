"""Python client of the DSIO Intraoral Filters API v1: :class:`FiltersClient` (asyncio) and
:class:`SyncFiltersClient` (blocking), typed models and errors. The ``dsio-filters`` command line
is :mod:`filters_client.cli`. See docs/client.md.

Importing this package loads aiohttp and the standard library only (no numpy, OpenCV or server code).
"""

from __future__ import annotations

from .client import FiltersClient, Media
from .errors import (
    BadGateway,
    BadRequest,
    ClientRequestError,
    ConnectionFailed,
    FiltersError,
    Forbidden,
    Gone,
    MethodNotAllowed,
    NotAcceptable,
    NotFound,
    NotImplementedByServer,
    PayloadTooLarge,
    ProtocolError,
    RangeNotSatisfiable,
    RequestTimeout,
    ServerError,
    ServiceUnavailable,
    Timeout,
    TLSError,
    TooManyRequests,
    TransportError,
    Unauthorized,
    UnsupportedMedia,
)
from .models import (
    AcquisitionInfo,
    Binning,
    Filter,
    ImageInfo,
    ImageResource,
    LutInfo,
    ModalitySession,
    OutputFormat,
    SelectMode,
    Task,
)
from .retry import Replay, RetryPolicy
from .settings import DEFAULT_URL, CredentialsError, Timeouts
from .sync import SyncFiltersClient

__all__ = [
    "DEFAULT_URL",
    "AcquisitionInfo",
    "BadGateway",
    "BadRequest",
    "Binning",
    "ClientRequestError",
    "ConnectionFailed",
    "CredentialsError",
    "Filter",
    "FiltersClient",
    "FiltersError",
    "Forbidden",
    "Gone",
    "ImageInfo",
    "ImageResource",
    "LutInfo",
    "Media",
    "MethodNotAllowed",
    "ModalitySession",
    "NotAcceptable",
    "NotFound",
    "NotImplementedByServer",
    "OutputFormat",
    "PayloadTooLarge",
    "ProtocolError",
    "RangeNotSatisfiable",
    "Replay",
    "RequestTimeout",
    "RetryPolicy",
    "SelectMode",
    "ServerError",
    "ServiceUnavailable",
    "SyncFiltersClient",
    "TLSError",
    "Task",
    "Timeout",
    "Timeouts",
    "TooManyRequests",
    "TransportError",
    "Unauthorized",
    "UnsupportedMedia",
]
