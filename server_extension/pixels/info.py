"""What a reader knows of an image, and what the writer stored: plain dataclasses, no I/O.

The importer copies these into the catalogue rows (``images``, ``channels``); field names follow
the catalogue's columns so that the mapping is one to one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, NamedTuple

# Colours given to channels that carry none, OMERO's order for the first ones.
DEFAULT_COLORS = ("FF0000", "00FF00", "0000FF", "FF00FF", "00FFFF", "FFFF00", "FFFFFF")
RGB_COLORS = ("FF0000", "00FF00", "0000FF")
# The data types the store keeps (docs/developer/pixels.md).
PIXEL_TYPES = ("uint8", "uint16", "uint32", "int8", "int16", "int32", "float32", "float64")


@dataclasses.dataclass
class ChannelInfo:
    """One channel: how it is named and shown, and (once computed) the range of its data."""

    name: str = ""
    color: str = "FFFFFF"  # RRGGBB
    emission_wavelength: float | None = None  # nanometres
    excitation_wavelength: float | None = None  # nanometres
    # The data's range and the default display window; None until computed
    # (write_pyramid and compute_statistics fill them in).
    min_value: float | None = None
    max_value: float | None = None
    window_start: float | None = None
    window_end: float | None = None


class LevelInfo(NamedTuple):
    """One resolution level: its size and its downsampling factor against level 0."""

    size_x: int
    size_y: int
    scale: float

    def to_json(self) -> dict[str, Any]:
        """The form stored in ``images.pyramid``."""
        return {"size_x": self.size_x, "size_y": self.size_y, "scale": self.scale}


@dataclasses.dataclass
class ImageInfo:
    """An image (one series of a source file) as the catalogue records it."""

    name: str
    size_x: int
    size_y: int
    size_z: int = 1
    size_c: int = 1
    size_t: int = 1
    pixel_type: str = "uint8"  # one of PIXEL_TYPES
    series: int = 0
    physical_size_x: float | None = None  # micrometres per pixel
    physical_size_y: float | None = None
    physical_size_z: float | None = None
    acquisition_date: dt.datetime | None = None
    description: str = ""
    # Microscope, objective, detector... as found in the source (OME-XML Instrument, SVS header).
    instrument: dict[str, Any] = dataclasses.field(default_factory=dict)
    channels: list[ChannelInfo] = dataclasses.field(default_factory=list)
    # The source's own levels (level 0 first); just level 0 when it has no pyramid.
    levels: list[LevelInfo] = dataclasses.field(default_factory=list)
    is_rgb: bool = False
    is_label: bool = False
    # The reader that understood the file ("tiff", "ome-tiff", "svs", "pillow", "ome-zarr", ...).
    format: str = ""

    @property
    def shape(self) -> tuple[int, int, int, int, int]:
        """(t, c, z, y, x) of level 0."""
        return (self.size_t, self.size_c, self.size_z, self.size_y, self.size_x)


@dataclasses.dataclass
class PyramidInfo:
    """What write_pyramid stored: the levels (level 0 first) and the channels with their statistics."""

    levels: list[LevelInfo]
    channels: list[ChannelInfo] = dataclasses.field(default_factory=list)
    # Names of the label images written under labels/ (from an OME-Zarr source).
    labels: list[str] = dataclasses.field(default_factory=list)
    # Source levels copied as they were, by stored level index; the others were computed.
    reused_levels: list[int] = dataclasses.field(default_factory=list)
    # Bytes of every file written (the import measures the folder once it is complete).
    stored_bytes: int | None = None

    def to_json(self) -> list[dict[str, Any]]:
        """The form stored in ``images.pyramid``."""
        return [level.to_json() for level in self.levels]
