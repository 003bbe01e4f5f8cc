"""Devices, acquisition sessions and images of the simulator: plain Python, no HTTP, no pixels.

Ids come from a ``random.Random(seed)``, so one seed and one sequence of calls always give the same
session and image ids (and, through ``Exposure.seed``, the same pixels).

Exposure state machine (AcquisitionStatus.state): ``NoAcquisitionInfo`` --PUT info enable=true-->
``Ready`` --exposure--> ``Processing`` --image stored--> ``NewImage``; the next PUT of info goes back
to ``Ready`` (or ``NoAcquisitionInfo`` with enable=false). Like the real service, the client must
send AcquisitionInfo before every exposure: finishing one clears ``enable``.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import random
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np

from .sensors import CATALOGUE, DeviceModel

__all__ = [
    "AcquisitionSettings",
    "BadRequest",
    "Conflict",
    "Exposure",
    "ImageRecord",
    "Locked",
    "NotFound",
    "Session",
    "Simulator",
    "SimulatorError",
]

BUSY_STATES = frozenset({"Reading", "Processing", "Storing"})
ROTATIONS = (0, 90, 180, 270)
BINNINGS = ("Unbinned", "Binned2x2")


class SimulatorError(Exception):
    status = 500
    title = "Internal error"


class BadRequest(SimulatorError):
    status, title = 400, "Bad request"


class NotFound(SimulatorError):
    status, title = 404, "Not found"


class Conflict(SimulatorError):
    status, title = 409, "Conflict"


class Locked(SimulatorError):
    status, title = 423, "Locked"


@dataclasses.dataclass
class AcquisitionSettings:
    """AcquisitionInfo for the next exposure."""

    enable: bool = False
    rotation: int = 0
    binning: str = "Unbinned"
    apply_lut: bool = True
    context: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class ImageRecord:
    image_id: str
    created_on: dt.datetime
    device: DeviceModel
    settings: AcquisitionSettings  # a snapshot of what the exposure used
    width: int
    height: int
    bits_per_pixel: int
    lut: Any  # imaging.Lut | None
    exposure_value: float
    hash_alg: str
    pixel_hash: str
    png: bytes
    preview: bytes


@dataclasses.dataclass
class Session:
    session_id: str
    device: DeviceModel
    client_name: str | None
    context: dict[str, Any]
    created_on: dt.datetime
    settings: AcquisitionSettings = dataclasses.field(default_factory=AcquisitionSettings)
    state: str = "NoAcquisitionInfo"
    images: dict[str, ImageRecord] = dataclasses.field(default_factory=dict)
    last_image_id: str | None = None

    @property
    def ready(self) -> bool:
        return self.state == "Ready" and self.settings.enable


@dataclasses.dataclass(frozen=True)
class Exposure:
    """An exposure in flight: everything the pixel worker needs, decided up front."""

    session_id: str
    image_id: str
    device: DeviceModel
    settings: AcquisitionSettings
    seed: np.random.SeedSequence


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Simulator:
    """All mutable state of one simulator instance."""

    def __init__(self, seed: int = 0, *, clock: Callable[[], dt.datetime] = utc_now, hash_alg: str = "SHA256") -> None:
        self.seed = seed
        self.clock = clock
        self.hash_alg = hash_alg
        self.devices: dict[str, DeviceModel] = {d.device_id: d for d in CATALOGUE}
        self.sessions: dict[str, Session] = {}
        self._ids = random.Random(seed)
        self._exposures = 0

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    # Devices -------------------------------------------------------------------------------

    def device(self, device_id: str) -> DeviceModel:
        try:
            return self.devices[device_id]
        except KeyError:
            raise NotFound(f"device {device_id!r} not found") from None

    def device_in_use(self, device_id: str) -> bool:
        return any(s.device.device_id == device_id for s in self.sessions.values())

    # Sessions ------------------------------------------------------------------------------

    def create_session(self, body: Any) -> Session:
        device_id, client_name, context = _session_fields(body, require_device=True)
        device = self.device(device_id)
        if self.device_in_use(device.device_id):
            raise Conflict(f"device {device_id!r} is in use")
        session = Session(
            session_id=self._new_id(),
            device=device,
            client_name=client_name,
            context=context or {},
            created_on=self.clock(),
        )
        self.sessions[session.session_id] = session
        return session

    def update_session(self, session_id: str, body: Any) -> Session:
        session = self.session(session_id)
        device_id, client_name, context = _session_fields(body, require_device=False)
        if device_id is not None and device_id != session.device.device_id:
            device = self.device(device_id)
            if self.device_in_use(device.device_id):
                raise Conflict(f"device {device_id!r} is in use")
            session.device = device
        if client_name is not None:
            session.client_name = client_name
        if context is not None:
            session.context = context
        return session

    def session(self, session_id: str) -> Session:
        try:
            return self.sessions[session_id]
        except KeyError:
            raise NotFound(f"session {session_id!r} not found") from None

    def list_sessions(self, device_id: str | None = None) -> list[Session]:
        return [s for s in self.sessions.values() if device_id is None or s.device.device_id == device_id]

    def delete_session(self, session_id: str) -> None:
        """Forget the session and its images; the device becomes Available again."""
        self.session(session_id)
        del self.sessions[session_id]

    def image(self, session_id: str, image_id: str) -> ImageRecord:
        session = self.session(session_id)
        try:
            return session.images[image_id]
        except KeyError:
            raise NotFound(f"image {image_id!r} not found in session {session_id!r}") from None

    # Acquisition ---------------------------------------------------------------------------

    def set_acquisition_info(self, session_id: str, body: Any) -> AcquisitionSettings:
        """Apply a (partial) AcquisitionInfo; null rotation/binning keep the current value."""
        session = self.session(session_id)
        if session.state in BUSY_STATES:
            raise Locked("AcquisitionInfo cannot be modified while reading an exposure")
        if not isinstance(body, dict):
            raise BadRequest("AcquisitionInfo must be a JSON object")
        fields = {k.lower(): v for k, v in body.items()}  # ASP.NET-style case-insensitive names
        new = copy.deepcopy(session.settings)
        if "enable" in fields:
            new.enable = _boolean(fields["enable"], "enable")
        if fields.get("rotation") is not None:
            rotation = fields["rotation"]
            if isinstance(rotation, bool) or not isinstance(rotation, (int, float)) or rotation not in ROTATIONS:
                raise BadRequest("Invalid value for rotation: must be 0, 90, 180, 270 or null")
            new.rotation = int(rotation)
        if fields.get("binning") is not None:
            binning = _binning(fields["binning"])
            if session.device.sensor.supports_binning:
                new.binning = binning
        if "applylut" in fields:
            new.apply_lut = _boolean(fields["applylut"], "applyLut")
        if fields.get("context") is not None:
            if not isinstance(fields["context"], dict):
                raise BadRequest("context must be an object")
            new.context = fields["context"]
        session.settings = new
        session.state = "Ready" if new.enable else "NoAcquisitionInfo"
        return new

    def begin_exposure(self, session_id: str) -> Exposure:
        """Start an exposure on a Ready session (the x-ray shot); pixels are made elsewhere."""
        session = self.session(session_id)
        if session.state in BUSY_STATES:
            raise Conflict("an exposure is already being read")
        if not session.ready:
            raise Conflict("sensor not ready: PUT AcquisitionInfo with enable=true first")
        session.state = "Processing"
        exposure = Exposure(
            session_id=session_id,
            image_id=self._new_id(),
            device=session.device,
            settings=copy.deepcopy(session.settings),
            seed=np.random.SeedSequence([self.seed, self._exposures]),
        )
        self._exposures += 1
        return exposure

    def finish_exposure(self, exposure: Exposure, **image: Any) -> ImageRecord | None:
        """Store the image; None when the session was deleted meanwhile (the image is dropped)."""
        session = self.sessions.get(exposure.session_id)
        if session is None:
            return None
        record = ImageRecord(
            image_id=exposure.image_id,
            created_on=self.clock(),
            device=exposure.device,
            settings=exposure.settings,
            hash_alg=self.hash_alg,
            **image,
        )
        session.images[record.image_id] = record
        session.last_image_id = record.image_id
        session.settings.enable = False
        session.state = "NewImage"
        return record

    def abort_exposure(self, exposure: Exposure) -> None:
        session = self.sessions.get(exposure.session_id)
        if session is not None:
            session.state = "Error"


def _session_fields(body: Any, *, require_device: bool) -> tuple[Any, Any, Any]:
    if not isinstance(body, dict):
        raise BadRequest("AcquisitionSessionInfo must be a JSON object")
    fields = {k.lower(): v for k, v in body.items()}
    device_id = fields.get("deviceid")
    if (require_device or device_id is not None) and not isinstance(device_id, str):
        raise BadRequest("deviceId must be a string")
    client_name = fields.get("clientname")
    if client_name is not None and not isinstance(client_name, str):
        raise BadRequest("clientName must be a string")
    context = fields.get("context")
    if context is not None and not isinstance(context, dict):
        raise BadRequest("context must be an object")
    return device_id, client_name, context


def _boolean(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise BadRequest(f"{name} must be true or false")
    return value


def _binning(value: Any) -> str:
    """Accept the enum names case-insensitively, or their index (what .NET clients send)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(BINNINGS):
        return BINNINGS[value]
    if isinstance(value, str):
        for name in BINNINGS:
            if value.lower() == name.lower():
                return name
    raise BadRequest("Invalid value for binning: must be Unbinned, Binned2x2 or null")
