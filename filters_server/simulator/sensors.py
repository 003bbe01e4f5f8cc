"""The simulated hardware: one USB interface per sensor family, each with its sensor attached.

Sizes are those of real size-1/size-2 intraoral sensors (active area roughly 30-36 mm x 20-27 mm);
the Supreme entry is the spec's own example (2400 x 1708 at 15 um). Device ids are fixed UUIDs (not
seeded) so that scripts written against one simulator run keep working against the next.
"""

from __future__ import annotations

import dataclasses
import uuid

__all__ = ["CATALOGUE", "DeviceModel", "SensorModel"]

_NAMESPACE = uuid.UUID("6f1c7d52-6a39-4a8e-9d0e-2b1f3c2a9e11")


@dataclasses.dataclass(frozen=True)
class SensorModel:
    """Static description of an intraoral sensor (SensorInfo plus the physics the phantom needs)."""

    family: str
    model_name: str
    brand: str
    serial_number: str
    size: int
    width: int  # unbinned pixels, landscape (cable exits south)
    height: int
    pixel_size_mm: float  # unbinned pitch
    supports_binning: bool
    version: str

    def image_size(self, binned: bool) -> tuple[int, int]:
        """(width, height) of an unrotated image; 2x2 binning drops a trailing odd row/column."""
        factor = 2 if binned else 1
        return self.width // factor, self.height // factor


@dataclasses.dataclass(frozen=True)
class DeviceModel:
    """A sensor interface (DeviceInfo) with the sensor plugged into it."""

    device_id: str
    name: str
    model_name: str
    serial_number: str
    interface_type: str
    version: str
    sensor: SensorModel


def _device(family: str, sensor: SensorModel, *, model_name: str, serial: str) -> DeviceModel:
    return DeviceModel(
        device_id=str(uuid.uuid5(_NAMESPACE, family)),
        name=f"{sensor.model_name}: {sensor.serial_number}",
        model_name=model_name,
        serial_number=serial,
        interface_type="usb",
        version="1.2",
        sensor=sensor,
    )


CATALOGUE: tuple[DeviceModel, ...] = (
    _device(
        "Select",
        SensorModel(
            family="Select",
            model_name="Simulated Select 2",
            brand="Simulator",
            serial_number="SIM-SEL-0002",
            size=2,
            width=1600,
            height=1200,
            pixel_size_mm=0.0225,
            supports_binning=True,
            version="0.15",
        ),
        model_name="Simulated Select USB Interface",
        serial="34-00000000001",
    ),
    _device(
        "Supreme",
        SensorModel(
            family="Supreme",
            model_name="Simulated Supreme 2",
            brand="Simulator",
            serial_number="SIM-SUP-0002",
            size=2,
            width=2400,
            height=1708,
            pixel_size_mm=0.015,
            supports_binning=True,
            version="0.15",
        ),
        model_name="Simulated Supreme USB Interface",
        serial="34-00000000002",
    ),
    _device(
        "Velocity",
        SensorModel(
            family="Velocity",
            model_name="Simulated Velocity 1",
            brand="Simulator",
            serial_number="SIM-VEL-0001",
            size=1,
            width=2000,
            height=1334,
            pixel_size_mm=0.015,
            supports_binning=True,
            version="0.15",
        ),
        model_name="Simulated Velocity USB Interface",
        serial="34-00000000003",
    ),
)
