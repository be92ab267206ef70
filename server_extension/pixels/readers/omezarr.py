"""OME-Zarr 0.4 (zarr v2) and 0.5 (zarr v3) images, with their levels and labels, through zarr-python."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import zarr

from ..info import ChannelInfo, ImageInfo
from .base import (
    LazyArray,
    ReaderLimits,
    SourceFile,
    SourceImage,
    UnreadableFile,
    cast,
    check_limits,
    default_channels,
    store_dtype,
)
from .ome_xml import parse_ome_xml, to_micrometres

_AXES = "tczyx"


def is_zarr(path: Path) -> bool:
    """A folder that is a zarr group (v3 zarr.json, or v2 .zgroup/.zattrs)."""
    return path.is_dir() and any((path / name).is_file() for name in ("zarr.json", ".zgroup", ".zattrs"))


class ZarrLevel(LazyArray):
    """A zarr array with NGFF axes (any subset of t, c, z, y, x, in any order) as a TCZYX array."""

    def __init__(self, array: zarr.Array, axes: list[str], where: str):
        if len(axes) != array.ndim:
            raise UnreadableFile(f"{where}: {len(axes)} axes for a {array.ndim}-D array.")
        unknown = [a for a, n in zip(axes, array.shape, strict=True) if a not in _AXES and n != 1]
        if unknown or len(set(axes)) != len(axes):
            raise UnreadableFile(f"{where}: axes {axes} cannot be mapped onto t, c, z, y, x.")
        if "y" not in axes or "x" not in axes:
            raise UnreadableFile(f"{where}: an image needs y and x axes, it has {axes}.")
        self._array = array
        self._axes = axes
        self._where = where
        sizes = dict(zip(axes, array.shape, strict=True))
        chunks = dict(zip(axes, array.chunks, strict=True))
        self.shape = tuple(int(sizes.get(a, 1)) for a in _AXES)  # type: ignore[assignment]
        self.chunks = tuple(int(chunks.get(a, 1)) for a in _AXES)  # type: ignore[assignment]
        try:
            self.dtype = store_dtype(array.dtype)
        except (ValueError, TypeError) as exc:
            raise UnreadableFile(f"{where}: {exc}.") from exc

    def _read(self, t: range, c: range, z: range, y: range, x: range) -> np.ndarray:
        wanted = dict(zip(_AXES, (t, c, z, y, x), strict=True))
        key = tuple(slice(wanted[a].start, wanted[a].stop) if a in wanted else slice(None) for a in self._axes)
        try:
            data = np.asarray(self._array[key])
        except Exception as exc:
            raise UnreadableFile(f"{self._where}: a chunk could not be read ({type(exc).__name__}: {exc}).") from exc
        present = [a for a in self._axes if a in _AXES]
        data = data.reshape([n for a, n in zip(self._axes, data.shape, strict=True) if a in _AXES])
        data = np.transpose(data, [present.index(a) for a in _AXES if a in present])
        data = data.reshape(tuple(len(r) for r in (t, c, z, y, x)))
        return cast(data, self.dtype)


def _ome_attrs(group: zarr.Group) -> dict[str, Any]:
    """The OME metadata of a group: under "ome" in 0.5, at the top of the attributes in 0.4."""
    attrs = dict(group.attrs)
    ome = attrs.get("ome")
    return dict(ome) if isinstance(ome, dict) else attrs


def open_omezarr(path: Path, limits: ReaderLimits) -> SourceFile:
    """Open an OME-Zarr image (or a bioformats2raw collection of images)."""
    try:
        root = zarr.open_group(str(path), mode="r")
    except Exception as exc:
        raise UnreadableFile(f"{path.name}: not a readable zarr group ({type(exc).__name__}: {exc}).") from exc
    attrs = _ome_attrs(root)
    if "multiscales" in attrs:
        groups = [(root, path.name)]
    elif "bioformats2raw.layout" in attrs:
        groups = []
        for key in sorted((k for k in root.group_keys() if k.isdigit()), key=int):
            groups.append((root[key], f"{path.name} [{key}]"))
    elif "plate" in attrs:
        raise UnreadableFile(f"{path.name}: OME-Zarr plates (HCS) are not supported; import the wells' images.")
    else:
        raise UnreadableFile(f"{path.name}: a zarr folder without OME-Zarr multiscales metadata.")
    if not groups:
        raise UnreadableFile(f"{path.name}: the OME-Zarr collection holds no image.")
    ome_xml = []
    if "bioformats2raw.layout" in attrs:
        xml_path = path / "OME" / "METADATA.ome.xml"
        if xml_path.is_file() and xml_path.stat().st_size < 64 * 2**20:
            ome_xml = parse_ome_xml(xml_path.read_text(errors="replace"))
    images = []
    for index, (group, name) in enumerate(groups):
        image = _image(group, name, limits, is_label=False)
        image.info.series = index
        if index < len(ome_xml):
            _merge_ome_xml(image.info, ome_xml[index])
        images.append(image)
    return SourceFile(path, images[0].info.format, images)


def _image(group: zarr.Group, where: str, limits: ReaderLimits, *, is_label: bool) -> SourceImage:
    attrs = _ome_attrs(group)
    version = str(attrs.get("version") or (attrs.get("multiscales") or [{}])[0].get("version") or "")
    try:
        multiscale = attrs["multiscales"][0]
        axes_meta = multiscale.get("axes") or ["t", "c", "z", "y", "x"]
        axes = [a["name"] if isinstance(a, dict) else str(a) for a in axes_meta]
        units = {a["name"]: a.get("unit") for a in axes_meta if isinstance(a, dict)}
        datasets = multiscale["datasets"]
        arrays = [group[d["path"]] for d in datasets]
    except (KeyError, IndexError, TypeError) as exc:
        raise UnreadableFile(f"{where}: the OME-Zarr multiscales metadata is incomplete ({exc!r}).") from exc
    levels = [ZarrLevel(a, axes, where) for a in arrays if isinstance(a, zarr.Array)]
    if len(levels) != len(arrays) or not levels:
        raise UnreadableFile(f"{where}: a multiscales dataset is not an array.")
    base = levels[0]
    levels = [base] + [lv for lv in levels[1:] if lv.shape[:3] == base.shape[:3]]
    t, c, z, y, x = base.shape
    info = ImageInfo(
        name=str(multiscale.get("name") or where) if not is_label else where,
        size_x=x,
        size_y=y,
        size_z=z,
        size_c=c,
        size_t=t,
        pixel_type=base.dtype.name,
        is_label=is_label,
        format=f"ome-zarr-{version}" if version else "ome-zarr",
    )
    check_limits(info, limits, where)
    # Physical sizes: level 0's scale (times the multiscale's own), when the axis has a length unit.
    scale = [1.0] * len(axes)
    for transforms in (datasets[0].get("coordinateTransformations"), multiscale.get("coordinateTransformations")):
        for tr in transforms or []:
            if tr.get("type") == "scale" and len(tr.get("scale", [])) == len(axes):
                scale = [a * b for a, b in zip(scale, tr["scale"], strict=True)]
    for axis in "zyx":
        if axis in axes and units.get(axis):
            setattr(info, f"physical_size_{axis}", to_micrometres(scale[axes.index(axis)], _unit(units[axis])))
    info.channels = _channels(attrs.get("omero"), c, is_label)
    image = SourceImage(info=info, levels=list(levels))
    if is_label:
        image.label_metadata = dict(attrs.get("image-label") or {})
        return image
    if "labels" in group:
        labels_group = group["labels"]
        names = _ome_attrs(labels_group).get("labels") or []
        for name in names:
            try:
                label_group = labels_group[name]
            except KeyError:
                continue
            label = _image(label_group, str(name), limits, is_label=True)
            if label.info.size_x == x and label.info.size_y == y:
                image.labels[str(name)] = label
    return image


def _unit(unit: str) -> str:
    return {
        "micrometer": "µm",
        "nanometer": "nm",
        "millimeter": "mm",
        "centimeter": "cm",
        "meter": "m",
        "angstrom": "Å",
        "picometer": "pm",
        "inch": "in",
    }.get(unit, unit)


def _channels(omero: Any, size_c: int, is_label: bool) -> list[ChannelInfo]:
    channels = default_channels(size_c)
    if not isinstance(omero, dict) or not isinstance(omero.get("channels"), list):
        return channels
    for i, meta in enumerate(omero["channels"][:size_c]):
        if not isinstance(meta, dict):
            continue
        if meta.get("label"):
            channels[i].name = str(meta["label"])
        color = str(meta.get("color") or "").lstrip("#").upper()
        if len(color) == 6 and all(ch in "0123456789ABCDEF" for ch in color):
            channels[i].color = color
        window = meta.get("window")
        if isinstance(window, dict) and not is_label:
            start, end = window.get("start"), window.get("end")
            if isinstance(start, int | float) and isinstance(end, int | float) and start < end:
                channels[i].window_start, channels[i].window_end = float(start), float(end)
    return channels


def _merge_ome_xml(info: ImageInfo, meta: dict[str, Any]) -> None:
    """bioformats2raw keeps the original OME-XML beside the pyramid: take names and instrument from it."""
    if meta.get("name"):
        info.name = meta["name"]
    info.acquisition_date = meta.get("date")
    info.instrument = meta.get("instrument", {})
    if len(meta.get("channels", [])) == info.size_c:
        for ch, m in zip(info.channels, meta["channels"], strict=True):
            ch.name = m.get("Name") or ch.name
