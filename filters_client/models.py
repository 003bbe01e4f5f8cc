"""The API's data as typed Python values: ImageResource and what it holds, and the filter enums.

Attributes are snake_case; ``to_json()``/``from_json()`` speak the wire's camelCase. ``from_json``
reads keys in any case (``LutInfo``, ``lutinfo``), as the server does, so sidecar files written
by .NET tools load too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime, timezone
from enum import Enum
from typing import Any

UTC = timezone.utc  # noqa: UP017 - datetime.UTC is 3.11+, and 3.10 is supported


class SelectMode(str, Enum):
    """``enhancementMode`` of the Select filter (spec order: .NET clients send the index)."""

    SMOOTH = "smooth"
    EDGE_LOW = "edgeLow"
    EDGE_HIGH = "edgeHigh"
    EDGE_PRO = "edgePro"


class Task(str, Enum):
    """``task`` of the Supreme and AE filters. AE offers every task but ``hygiene``."""

    GENERAL = "general"
    ENDODONTIC = "endodontic"
    PERIODONTIC = "periodontic"
    RESTORATIVE = "restorative"
    HYGIENE = "hygiene"


AE_TASKS: frozenset[Task] = frozenset(task for task in Task if task is not Task.HYGIENE)


class Binning(str, Enum):
    UNBINNED = "Unbinned"
    BINNED_2X2 = "Binned2x2"


class OutputFormat(str, Enum):
    """Media types the filters can answer with (``Accept``); any other media-type string is allowed too."""

    PNG = "image/png"  # 16-bit, the default
    TIFF = "image/tiff"  # 16-bit
    JPEG = "image/jpeg"  # 8-bit
    GIF = "image/gif"  # 8-bit


_SHORT_FORMATS = {
    "png": OutputFormat.PNG,
    "tiff": OutputFormat.TIFF,
    "tif": OutputFormat.TIFF,
    "jpeg": OutputFormat.JPEG,
    "jpg": OutputFormat.JPEG,
    "gif": OutputFormat.GIF,
}
_EXTENSIONS = {
    "image/png": "png",
    "image/tiff": "tiff",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "application/dicom": "dcm",
}


def media_type(value: OutputFormat | str) -> str:
    """``"png"``, ``OutputFormat.PNG`` or ``"image/png"`` -> ``"image/png"``; other media types pass through."""
    if isinstance(value, OutputFormat):
        return value.value
    text = value.strip()
    short = _SHORT_FORMATS.get(text.lower())
    if short is not None:
        return short.value
    if "/" not in text:
        raise ValueError(f"not a media type or a known format name: {value!r} (png, tiff, jpeg, gif or type/subtype)")
    return text


def extension(value: OutputFormat | str) -> str:
    """A file name extension for a media type (``image/jpeg`` -> ``jpg``; unknown: its subtype)."""
    kind = media_type(value).split(";", 1)[0].strip().lower()
    if kind in _EXTENSIONS:
        return _EXTENSIONS[kind]
    subtype = kind.split("/", 1)[1]
    return "".join(ch for ch in subtype.split("+")[0] if ch.isalnum() or ch in "-_") or "bin"


def enum_value(kind: type[Any], value: Any) -> Any:
    """An enum member from a member, its value in any case, or its name (``edge_pro``)."""
    if isinstance(value, kind):
        return value
    if isinstance(value, str):
        wanted = value.strip().lower().replace("_", "").replace("-", "")
        for member in kind:
            if wanted in (member.value.lower(), member.name.lower().replace("_", "")):
                return member
    choices = ", ".join(member.value for member in kind)
    raise ValueError(f"{value!r} is not one of: {choices}")


def parse_timestamp(text: str) -> datetime:
    """``2026-12-01T12:00:00.123Z`` -> an aware UTC datetime (Python 3.10's fromisoformat lacks ``Z``)."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds and ``Z``, as the server writes them."""
    utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


class _Keys:
    """Case-insensitive access to one JSON object."""

    def __init__(self, data: Any, what: str) -> None:
        if not isinstance(data, Mapping):
            raise TypeError(f"{what} must be a JSON object, not {type(data).__name__}")
        self.what = what
        self._data = {str(key).lower(): value for key, value in data.items()}

    def get(self, name: str, default: Any = None) -> Any:
        return self._data.get(name.lower(), default)

    def require(self, name: str) -> Any:
        if name.lower() not in self._data:
            raise ValueError(f"{self.what} has no {name!r}")
        return self._data[name.lower()]


@dataclasses.dataclass(frozen=True)
class LutInfo:
    """The sensor's look-up table: how stored values relate to sensor values."""

    gamma: float
    slope: float
    offset: float
    total_grays: int
    minimum_gray: int
    maximum_gray: int

    def to_json(self) -> dict[str, Any]:
        return {
            "gamma": self.gamma,
            "slope": self.slope,
            "offset": self.offset,
            "totalGrays": self.total_grays,
            "minimumGray": self.minimum_gray,
            "maximumGray": self.maximum_gray,
        }

    @classmethod
    def from_json(cls, data: Any) -> LutInfo:
        keys = _Keys(data, "lutInfo")
        return cls(
            gamma=float(keys.require("gamma")),
            slope=float(keys.require("slope")),
            offset=float(keys.require("offset")),
            total_grays=int(keys.require("totalGrays")),
            minimum_gray=int(keys.require("minimumGray")),
            maximum_gray=int(keys.require("maximumGray")),
        )


@dataclasses.dataclass(frozen=True)
class AcquisitionInfo:
    binning: Binning | str = Binning.UNBINNED

    def to_json(self) -> dict[str, Any]:
        return {"binning": self.binning.value if isinstance(self.binning, Binning) else self.binning}

    @classmethod
    def from_json(cls, data: Any) -> AcquisitionInfo:
        binning = _Keys(data, "acquisitionInfo").get("binning", Binning.UNBINNED.value)
        try:
            return cls(binning=enum_value(Binning, binning))
        except ValueError:
            return cls(binning=str(binning))  # a newer server's mode: kept, not refused


@dataclasses.dataclass(frozen=True)
class ImageInfo:
    """What the sensor reported with the image; the filters need its ``lut_info``."""

    lut_info: LutInfo
    acquisition_info: AcquisitionInfo = dataclasses.field(default_factory=AcquisitionInfo)

    def to_json(self) -> dict[str, Any]:
        return {"acquisitionInfo": self.acquisition_info.to_json(), "lutInfo": self.lut_info.to_json()}

    @classmethod
    def from_json(cls, data: Any) -> ImageInfo:
        keys = _Keys(data, "imageInfo")
        acquisition = keys.get("acquisitionInfo")
        return cls(
            lut_info=LutInfo.from_json(keys.require("lutInfo")),
            acquisition_info=AcquisitionInfo.from_json(acquisition) if acquisition is not None else AcquisitionInfo(),
        )


@dataclasses.dataclass(frozen=True)
class ModalitySession:
    """The Modality API session and image a resource was created from."""

    session_id: str
    image_id: str

    def to_json(self) -> dict[str, Any]:
        return {"sessionId": self.session_id, "imageId": self.image_id}

    @classmethod
    def from_json(cls, data: Any) -> ModalitySession:
        keys = _Keys(data, "modalitySession")
        return cls(session_id=str(keys.require("sessionId")), image_id=str(keys.require("imageId")))


@dataclasses.dataclass(frozen=True)
class ImageResource:
    """An uploaded (or modality) image on the server, until ``expires``."""

    id: str
    media_type: str
    url: str
    created_on: datetime
    expires: datetime
    image_info: ImageInfo
    modality_session: ModalitySession | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "mediaType": self.media_type,
            "url": self.url,
            "createdOn": format_timestamp(self.created_on),
            "expires": format_timestamp(self.expires),
            "imageInfo": self.image_info.to_json(),
            "modalitySession": None if self.modality_session is None else self.modality_session.to_json(),
        }

    @classmethod
    def from_json(cls, data: Any) -> ImageResource:
        keys = _Keys(data, "ImageResource")
        session = keys.get("modalitySession")
        return cls(
            id=str(keys.require("id")),
            media_type=str(keys.require("mediaType")),
            url=str(keys.require("url")),
            created_on=parse_timestamp(str(keys.require("createdOn"))),
            expires=parse_timestamp(str(keys.require("expires"))),
            image_info=ImageInfo.from_json(keys.require("imageInfo")),
            modality_session=None if session is None else ModalitySession.from_json(session),
        )


@dataclasses.dataclass(frozen=True)
class Filter:
    """One filter request: its name and parameters. Build with :meth:`unmap`, :meth:`select`, ..."""

    name: str
    mode: SelectMode | None = None
    task: Task | None = None
    sharpness: float | None = None

    @classmethod
    def unmap(cls) -> Filter:
        return cls("unmap")

    @classmethod
    def select(cls, mode: SelectMode | str = SelectMode.EDGE_PRO) -> Filter:
        return cls("select", mode=enum_value(SelectMode, mode))

    @classmethod
    def supreme(cls, task: Task | str = Task.GENERAL, sharpness: float = 70.0) -> Filter:
        return cls("supreme", task=enum_value(Task, task), sharpness=_sharpness(sharpness))

    @classmethod
    def ae(cls, task: Task | str = Task.GENERAL, sharpness: float = 70.0) -> Filter:
        member = enum_value(Task, task)
        if member not in AE_TASKS:
            raise ValueError(f"the ae filter does not offer the {member.value!r} task")
        return cls("ae", task=member, sharpness=_sharpness(sharpness))

    @classmethod
    def named(
        cls,
        name: str,
        *,
        mode: SelectMode | str | None = None,
        task: Task | str | None = None,
        sharpness: float | None = None,
    ) -> Filter:
        """A filter by name with the parameters it takes (defaults for those not given)."""
        if name == "unmap":
            if mode is not None or task is not None or sharpness is not None:
                raise ValueError("the unmap filter takes no parameters")
            return cls.unmap()
        if name == "select":
            if task is not None or sharpness is not None:
                raise ValueError("the select filter takes only a mode")
            return cls.select(SelectMode.EDGE_PRO if mode is None else mode)
        if name in ("supreme", "ae"):
            if mode is not None:
                raise ValueError(f"the {name} filter takes a task and a sharpness, not a mode")
            factory = cls.supreme if name == "supreme" else cls.ae
            return factory(Task.GENERAL if task is None else task, 70.0 if sharpness is None else sharpness)
        raise ValueError(f"unknown filter {name!r} (unmap, select, supreme or ae)")

    def body(self) -> dict[str, Any] | None:
        """The JSON body of the request (None for unmap, which takes none)."""
        if self.name == "select":
            assert self.mode is not None
            return {"enhancementMode": self.mode.value}
        if self.name in ("supreme", "ae"):
            assert self.task is not None
            return {"task": self.task.value, "sharpness": self.sharpness}
        return None

    @property
    def label(self) -> str:
        """The parameters for a file name: ``-edgePro``, ``-endodontic-70``, ``""`` for unmap."""
        if self.mode is not None:
            return f"-{self.mode.value}"
        if self.task is not None:
            return f"-{self.task.value}-{_number(self.sharpness)}"
        return ""


def _sharpness(value: float) -> float:
    number = float(value)
    if not 0 <= number <= 100:
        raise ValueError(f"sharpness must be between 0 and 100, not {value!r}")
    return number


def _number(value: float | None) -> str:
    assert value is not None
    return str(int(value)) if float(value).is_integer() else repr(float(value))
