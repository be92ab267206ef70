"""OME-XML and the units it uses: what OME-TIFF, Bio-Formats and OME-Zarr sources share.

``parse_ome_xml`` reads the Image elements (name, date, pixels, channels, instrument) of any OME-XML
without a schema; ``apply_ome`` copies one of them into an ``ImageInfo``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import xml.etree.ElementTree as ElementTree
from typing import Any

from ..info import RGB_COLORS, ChannelInfo, ImageInfo
from .base import default_channels

# Series names that tifffile, Bio-Formats or writers make up: the file name says more.
GENERIC_NAME = re.compile(r"(Image|Series|Image:)\s*\d*|Baseline|")


_LENGTH_UNITS = {
    "µm": 1.0,
    "um": 1.0,
    "micron": 1.0,
    "microns": 1.0,
    "micrometer": 1.0,
    "nm": 1e-3,
    "nanometer": 1e-3,
    "mm": 1e3,
    "millimeter": 1e3,
    "cm": 1e4,
    "centimeter": 1e4,
    "m": 1e6,
    "meter": 1e6,
    "Å": 1e-4,
    "pm": 1e-6,
    "in": 25400.0,
    "inch": 25400.0,
}


def to_micrometres(value: Any, unit: str | None) -> float | None:
    """A length in micrometres, or None when the unit is unknown or the value no length."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    factor = _LENGTH_UNITS.get((unit or "µm").strip())
    if factor is None or not math.isfinite(v) or v <= 0:
        return None
    return v * factor


def _wavelength_nm(value: Any, unit: str | None) -> float | None:
    um = to_micrometres(value, unit or "nm")
    return None if um is None else round(um * 1000, 6)


def _strip(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _attrs(element: ElementTree.Element) -> dict[str, str]:
    return {k: v for k, v in element.attrib.items() if k != "ID"}


def parse_date(value: str | None) -> dt.datetime | None:
    """ISO 8601 (OME) or TIFF's ``YYYY:MM:DD HH:MM:SS``."""
    if not value:
        return None
    value = value.strip()
    m = re.fullmatch(r"(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})", value)
    if m:
        value = f"{m[1]}-{m[2]}-{m[3]}T{m[4]}:{m[5]}:{m[6]}"
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def color_from_ome(value: str | None) -> str | None:
    """OME stores colours as a signed 32-bit RGBA integer."""
    if value is None:
        return None
    try:
        rgba = int(value) & 0xFFFFFFFF
    except ValueError:
        return None
    return f"{rgba >> 8:06X}"


def parse_ome_xml(xml: str) -> list[dict[str, Any]]:
    """The Image elements of OME-XML: name, date, pixels, channels, instrument (namespace-agnostic)."""
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        return []
    instruments: dict[str, dict[str, Any]] = {}
    for inst in root:
        if _strip(inst.tag) != "Instrument":
            continue
        found: dict[str, Any] = {}
        objectives: dict[str, dict[str, str]] = {}
        for part in inst:
            kind = _strip(part.tag)
            if kind == "Microscope":
                found["microscope"] = _attrs(part)
            elif kind == "Objective":
                objectives[part.get("ID", "")] = _attrs(part)
            elif kind in (
                "Detector",
                "LightSource",
                "Laser",
                "Arc",
                "Filament",
                "LightEmittingDiode",
                "Filter",
                "Dichroic",
            ):
                found.setdefault(kind[0].lower() + kind[1:] + "s", []).append({"type": kind, **_attrs(part)})
        if objectives:
            found["objectives"] = list(objectives.values())
        instruments[inst.get("ID", "")] = {"data": found, "objectives": objectives}
    images = []
    for image in root:
        if _strip(image.tag) != "Image":
            continue
        entry: dict[str, Any] = {"name": image.get("Name", ""), "instrument": {}, "channels": [], "files": []}
        for part in image:
            kind = _strip(part.tag)
            if kind == "AcquisitionDate":
                entry["date"] = parse_date(part.text)
            elif kind == "Description":
                entry["description"] = (part.text or "").strip()
            elif kind == "InstrumentRef":
                inst = instruments.get(part.get("ID", ""))
                if inst:
                    entry["instrument"] = dict(inst["data"])
                    entry["_objectives"] = inst["objectives"]
            elif kind == "ObjectiveSettings":
                entry["objective_settings"] = _attrs(part) | {"ID": part.get("ID", "")}
            elif kind == "Pixels":
                entry["pixels"] = dict(part.attrib)
                for ch in part:
                    if _strip(ch.tag) == "Channel":
                        entry["channels"].append(dict(ch.attrib))
                    elif _strip(ch.tag) == "TiffData":
                        # The files a multi-file OME-TIFF keeps planes in (none named: this file).
                        for uuid in ch:
                            name = uuid.get("FileName") if _strip(uuid.tag) == "UUID" else None
                            if name and name not in entry["files"]:
                                entry["files"].append(name)
        settings = entry.pop("objective_settings", None)
        objectives = entry.pop("_objectives", {})
        if settings:
            objective = objectives.get(settings.pop("ID"))
            entry["instrument"]["objective_settings"] = settings
            if objective:
                entry["instrument"]["objective"] = objective
        images.append(entry)
    return images


def apply_ome(info: ImageInfo, meta: dict[str, Any]) -> None:
    """Copy one entry of ``parse_ome_xml`` (name, date, instrument, physical sizes, channels) into ``info``."""
    px = meta.get("pixels", {})
    if meta.get("name") and not GENERIC_NAME.fullmatch(meta["name"]):
        info.name = meta["name"]
    info.description = meta.get("description", "")
    info.acquisition_date = meta.get("date")
    info.instrument = meta.get("instrument", {})
    for axis in "XYZ":
        value = to_micrometres(px.get(f"PhysicalSize{axis}"), px.get(f"PhysicalSize{axis}Unit"))
        setattr(info, f"physical_size_{axis.lower()}", value)
    channels = []
    for ch in meta.get("channels", []):
        samples = int(ch.get("SamplesPerPixel", "1") or 1)
        base = ChannelInfo(
            name=ch.get("Name", ""),
            color=color_from_ome(ch.get("Color")) or "",
            emission_wavelength=_wavelength_nm(ch.get("EmissionWavelength"), ch.get("EmissionWavelengthUnit")),
            excitation_wavelength=_wavelength_nm(ch.get("ExcitationWavelength"), ch.get("ExcitationWavelengthUnit")),
        )
        if samples >= 3 and info.is_rgb:
            channels += [
                ChannelInfo(name=n, color=c) for n, c in zip(("Red", "Green", "Blue"), RGB_COLORS, strict=True)
            ]
        else:
            channels += [base] * max(1, samples)
    if len(channels) == info.size_c:
        defaults = default_channels(info.size_c)
        for i, ch in enumerate(channels):
            channels[i] = ChannelInfo(**{**ch.__dict__})
            channels[i].name = channels[i].name or defaults[i].name
            channels[i].color = channels[i].color or defaults[i].color
        info.channels = channels
