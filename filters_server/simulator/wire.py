"""JSON shapes of the Modality API (camelCase, as in the spec's schemas) built from simulator state."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .sensors import DeviceModel
from .state import AcquisitionSettings, ImageRecord, Session, Simulator

__all__ = [
    "acquisition_info",
    "device_info",
    "image_info",
    "sensor_info",
    "session_json",
    "status_json",
    "timestamp",
]

EXPOSURE_SCALE = {"min": -1.0, "max": 1.0, "low": -0.5, "high": 0.5, "optimum": 0.0}


def timestamp(when: dt.datetime) -> str:
    """ISO 8601 UTC with milliseconds and Z (what the vendor's .NET services emit)."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def device_info(sim: Simulator, device: DeviceModel, base_url: str) -> dict[str, Any]:
    return {
        "deviceId": device.device_id,
        "name": device.name,
        "iconUrl": f"{base_url}/devices/{device.device_id}/icon.png",
        "hasSensor": True,
        "status": "InUse" if sim.device_in_use(device.device_id) else "Available",
        "interfaceType": device.interface_type,
        "modelName": device.model_name,
        "serialNumber": device.serial_number,
        "version": device.version,
        "battery": None,
    }


def sensor_info(device: DeviceModel) -> dict[str, Any]:
    s = device.sensor
    return {
        "modelName": s.model_name,
        "serialNumber": s.serial_number,
        "brand": s.brand,
        "family": s.family,
        "size": s.size,
        "width": s.width,
        "height": s.height,
        "supportsBinning": s.supports_binning,
        "version": s.version,
    }


def session_json(session: Session) -> dict[str, Any]:
    return {
        "sessionId": session.session_id,
        "deviceId": session.device.device_id,
        "clientName": session.client_name,
        "createdOn": timestamp(session.created_on),
        "context": session.context,
    }


def acquisition_info(settings: AcquisitionSettings) -> dict[str, Any]:
    return {
        "enable": settings.enable,
        "rotation": settings.rotation,
        "binning": settings.binning,
        "applyLut": settings.apply_lut,
        "context": settings.context,
    }


def status_json(session: Session) -> dict[str, Any]:
    return {
        "ready": session.ready,
        "state": session.state,
        "lastImageId": session.last_image_id,
        "totalImages": len(session.images),
    }


def image_info(sim: Simulator, session: Session, image: ImageRecord, base_url: str) -> dict[str, Any]:
    binned = image.settings.binning == "Binned2x2"
    pitch = image.device.sensor.pixel_size_mm * (2 if binned else 1)
    url = f"{base_url}/acquisition/{session.session_id}/images/{image.image_id}"
    lut = image.lut
    return {
        "id": image.image_id,
        "createdOn": timestamp(image.created_on),
        "width": image.width,
        "height": image.height,
        "bitsPerPixel": image.bits_per_pixel,
        "bytesPerPixel": 2,
        "pixelSizeX": pitch,
        "pixelSizeY": pitch,
        "previewUrl": f"{url}/preview",
        "imageUrl": f"{url}/media",
        "pixelHash": {"alg": image.hash_alg, "hash": image.pixel_hash},
        "deviceInfo": device_info(sim, image.device, base_url),
        "sensorInfo": sensor_info(image.device),
        "acquisitionInfo": acquisition_info(image.settings),
        "lutInfo": None
        if lut is None
        else {
            "gamma": lut.gamma,
            "slope": lut.slope,
            "offset": lut.offset,
            "totalGrays": lut.total_grays,
            "minimumGray": lut.minimum_gray,
            "maximumGray": lut.maximum_gray,
        },
        "exposureInfo": {**EXPOSURE_SCALE, "value": round(image.exposure_value, 5)},
    }
