"""TIFF metadata: ImageJ, SVS and NDPI headers and baseline tags -> ImageInfo fields.

The OME-XML part, which OME-TIFF shares with Bio-Formats and OME-Zarr sources, is in ``ome_xml.py``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import tifffile

from ..info import ImageInfo
from .base import default_channels
from .ome_xml import GENERIC_NAME, apply_ome, parse_date, parse_ome_xml, to_micrometres

__all__ = ["GENERIC_NAME", "apply_ome", "apply_tiff_tags", "ome_for_series", "parse_ome_xml", "to_micrometres"]


def ome_for_series(ome: list[dict[str, Any]], series: Any, index: int) -> dict[str, Any] | None:
    if not ome:
        return None
    if index < len(ome) and (not series.name or ome[index]["name"] == series.name):
        return ome[index]
    return next((m for m in ome if m["name"] and m["name"] == series.name), None)


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
