"""marshmallow schemas for what clients send, read the lenient way ASP.NET servers read JSON.

* Property names in any case (``lutInfo``, ``LutInfo``, ``LUTINFO``).
* Enums as case-insensitive strings (``Binned2X2``) or integers, the index in
  the spec's enum order (what .NET clients send by default).
* Numbers as JSON numbers or numeric strings (System.Text.Json's web defaults);
  booleans, NaN and infinities are rejected.
* Unknown properties are ignored.

Loaded data comes out canonical: camelCase keys, enum names as in the spec.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate


class LenientSchema(Schema):
    """Matches input keys to declared fields ignoring case; drops unknown keys."""

    class Meta:
        unknown = EXCLUDE

    @pre_load
    def _fold_key_case(self, data: Any, **_kwargs: Any) -> Any:
        if not isinstance(data, Mapping):
            return data  # marshmallow reports "Invalid input type"
        names = {(field.data_key or name).lower(): field.data_key or name for name, field in self.load_fields.items()}
        folded: dict[str, Any] = {}
        for key, value in data.items():
            canonical = names.get(key.lower()) if isinstance(key, str) else None
            if canonical is not None and canonical not in folded:
                folded[canonical] = value
        return folded


class LenientEnum(fields.Field):  # type: ignore[type-arg]  # marshmallow 3 Field is generic only in its stubs
    """A string enum read from a case-insensitive name or an integer index."""

    def __init__(self, choices: Sequence[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.choices = tuple(choices)
        self._by_lower = {choice.lower(): choice for choice in self.choices}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, bool):
            pass
        elif isinstance(value, int) and 0 <= value < len(self.choices):
            return self.choices[value]
        elif isinstance(value, float) and value.is_integer() and 0 <= value < len(self.choices):
            return self.choices[int(value)]
        elif isinstance(value, str):
            stripped = value.strip()
            if stripped.lower() in self._by_lower:
                return self._by_lower[stripped.lower()]
            if stripped.isdigit() and int(stripped) < len(self.choices):
                return self.choices[int(stripped)]
        raise ValidationError(f"Must be one of: {', '.join(self.choices)} (or their index 0-{len(self.choices) - 1}).")

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


class FiniteFloat(fields.Float):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_nan=False, **kwargs)

    def _validated(self, value: Any) -> float:
        result = super()._validated(value)
        if not math.isfinite(result):
            raise self.make_error("special")
        return result


class WholeNumber(fields.Integer):
    """An integer that may arrive as ``4096``, ``4096.0`` or ``"4096"``, never as ``4095.5``."""

    def _validated(self, value: Any) -> int:
        if isinstance(value, float) and not value.is_integer():
            raise self.make_error("invalid")
        if isinstance(value, str):
            try:
                as_float = float(value)
            except ValueError:
                raise self.make_error("invalid") from None
            if not math.isfinite(as_float) or not as_float.is_integer():
                raise self.make_error("invalid")
            value = int(as_float)
        return super()._validated(value)


BINNING_MODES = ("Unbinned", "Binned2x2")


class AcquisitionInfoSchema(LenientSchema):
    binning = LenientEnum(BINNING_MODES, load_default="Unbinned")


class LutInfoSchema(LenientSchema):
    gamma = FiniteFloat(required=True)
    slope = FiniteFloat(required=True)
    offset = FiniteFloat(required=True)
    totalGrays = WholeNumber(required=True, validate=validate.Range(min=1, max=65536))
    minimumGray = WholeNumber(required=True, validate=validate.Range(min=0, max=65535))
    maximumGray = WholeNumber(required=True, validate=validate.Range(min=0, max=65535))


class ImageInfoSchema(LenientSchema):
    acquisitionInfo = fields.Nested(AcquisitionInfoSchema, load_default=lambda: {"binning": "Unbinned"})
    lutInfo = fields.Nested(LutInfoSchema, required=True)


# Modality ids become one URL path segment of a request to the Modality API (GUIDs in practice).
MODALITY_ID = validate.Regexp(r"^[A-Za-z0-9_~-]{1,128}$", error="Must be 1-128 letters, digits, '-', '_' or '~'.")


class ModalitySessionSchema(LenientSchema):
    sessionId = fields.String(required=True, validate=MODALITY_ID)
    imageId = fields.String(required=True, validate=MODALITY_ID)


def flatten_errors(messages: Any, prefix: str = "") -> list[str]:
    """``{"lutInfo": {"gamma": ["Not a valid number."]}}`` -> ``["lutInfo.gamma: Not a valid number."]``."""
    if isinstance(messages, Mapping):
        out: list[str] = []
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            out.extend(flatten_errors(value, "" if key == "_schema" and not prefix else path))
        return out
    if isinstance(messages, (list, tuple)):
        if all(isinstance(m, str) for m in messages):
            return [f"{prefix}: {' '.join(messages)}" if prefix else " ".join(messages)]
        return [line for m in messages for line in flatten_errors(m, prefix)]
    return [f"{prefix}: {messages}" if prefix else str(messages)]


def load_or_raise(schema: Schema, data: Any, what: str) -> dict[str, Any]:
    """Load ``data`` or raise ``ValueError`` with a message naming each bad field."""
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ValidationError as exc:
        raise ValueError(f"invalid {what}: " + "; ".join(flatten_errors(exc.messages))) from None
    return loaded


IMAGE_INFO = ImageInfoSchema()
MODALITY_SESSION = ModalitySessionSchema()
