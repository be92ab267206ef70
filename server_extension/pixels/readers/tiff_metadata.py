"""TIFF metadata: OME-XML, ImageJ, SVS and NDPI headers, baseline tags -> ImageInfo fields."""

from __future__ import annotations

import datetime as dt
import math
import re
import xml.etree.ElementTree as ElementTree
from typing import Any

import tifffile

from ..info import RGB_COLORS, ChannelInfo, ImageInfo
from .base import default_channels

# Series names that tifffile or writers make up: the file name says more.
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


def ome_for_series(ome: list[dict[str, Any]], series: Any, index: int) -> dict[str, Any] | None:
    if not ome:
        return None
    if index < len(ome) and (not series.name or ome[index]["name"] == series.name):
        return ome[index]
    return next((m for m in ome if m["name"] and m["name"] == series.name), None)


def apply_ome(info: ImageInfo, meta: dict[str, Any]) -> None:
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


def apply_tiff_tags(info: ImageInfo, tif: tifffile.TiffFile) -> None:
    page = tif.pages.first
    tags = page.tags
    if tif.is_svs:
        try:
            meta = tifffile.tifffile.svs_description_metadata(page.description)
        except Exception:
            meta = {}
        mpp = meta.get("MPP")
        info.physical_size_x = info.physical_size_y = to_micrometres(mpp, "µm")
        date = meta.get("Date")
        if date:
            when = f"{date} {meta.get('Time', '00:00:00')}"
            for fmt in ("%m/%d/%y %H:%M:%S", "%m/%d/%Y %H:%M:%S"):
                try:
                    info.acquisition_date = dt.datetime.strptime(when, fmt)
                    break
                except ValueError:
                    pass
        info.instrument = {k: meta[k] for k in ("AppMag", "ScanScope ID", "ScannerType", "Header") if k in meta}
        return
    if tif.is_ndpi:
        ndpi = page.ndpi_tags or {}
        names = {"Magnification": "magnification", "ScannerSerialNumber": "serial_number"}
        info.instrument = {names[k]: v for k, v in ndpi.items() if k in names}
    if tif.is_imagej:
        ij = tif.imagej_metadata or {}
        unit = ij.get("unit")
        unit = {"micron": "µm", "\\u00B5m": "µm"}.get(unit, unit)
        if unit and "XResolution" in tags:
            num, den = tags["XResolution"].value
            info.physical_size_x = to_micrometres(den / num if num else None, unit)
            num, den = tags["YResolution"].value
            info.physical_size_y = to_micrometres(den / num if num else None, unit)
        if unit and ij.get("spacing"):
            info.physical_size_z = to_micrometres(ij["spacing"], unit)
        labels = ij.get("Labels")
        if isinstance(labels, list) and len(labels) == info.size_c:
            info.channels = default_channels(info.size_c, [str(v) for v in labels])
    elif "ResolutionUnit" in tags and "XResolution" in tags:
        unit = int(tags["ResolutionUnit"].value)
        for axis in "XY":
            num, den = tags[f"{axis}Resolution"].value
            per_unit = num / den if den else 0
            # Inches only from a plausible microscope resolution (not a 72 dpi default).
            if per_unit > 0 and (unit == 3 or (unit == 2 and per_unit >= 1000)):
                setattr(info, f"physical_size_{axis.lower()}", (1e4 if unit == 3 else 25400.0) / per_unit)
    if "DateTime" in tags:
        info.acquisition_date = parse_date(str(tags["DateTime"].value))
    for key, tag in (("make", "Make"), ("model", "Model"), ("software", "Software")):
        if tag in tags and key not in info.instrument:
            info.instrument[key] = str(tags[tag].value)
