"""Nikon ND2 through the ``nd2`` package, frame by frame; part of the formats extra.

An ND2 file is a sequence of frames, each one plane of every channel (and RGB sample) at one
(position, time, z); each stage position of a multipoint experiment is an image. ``nd2`` maps an
uncompressed frame straight from the file, so a region reads only its own rows; a compressed one is
decoded whole, once: the last frames read are kept, so the writer's bands of one plane cost one decode.
"""

from __future__ import annotations

import collections
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..info import RGB_COLORS, ChannelInfo, ImageInfo
from .base import (
    LazyArray,
    ReaderLimits,
    SourceFile,
    SourceImage,
    UnreadableFile,
    cast,
    check_limits,
    default_channels,
    library_error,
    store_dtype,
)

MAGIC = b"\xda\xce\xbe\x0a"
# Legacy (JPEG 2000) ND2 files start as a JP2 file does: told apart by their suffix.
LEGACY_MAGIC = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
_KNOWN_AXES = set("PTZCYXS")
_FRAMES_KEPT = 2


def is_nd2(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(len(LEGACY_MAGIC))
    return head.startswith(MAGIC) or (head == LEGACY_MAGIC and path.suffix.lower() == ".nd2")


def open_nd2(path: Path, limits: ReaderLimits) -> SourceFile:
    """Open an ND2 file; raise UnreadableFile when ``nd2`` cannot make sense of it."""
    import nd2

    try:
        f = nd2.ND2File(path)
    except Exception as exc:  # nd2 raises ValueError, OSError, struct.error... for damaged files
        raise UnreadableFile(
            f"{path.name}: not a readable ND2 file ({library_error(exc, path)}); it may be truncated or corrupt."
        ) from exc
    try:
        return _source(path, f, limits)
    except UnreadableFile:
        f.close()
        raise
    except Exception as exc:
        f.close()
        raise UnreadableFile(
            f"{path.name}: the ND2 metadata cannot be read ({library_error(exc, path)}); the file may be "
            "truncated or corrupt."
        ) from exc


class _Frames:
    """Frames of one file, read one at a time, the last few kept."""

    def __init__(self, f: Any, frame_shape: tuple[int, int, int, int], path: Path):
        self._f = f
        self._path = path
        self._shape = frame_shape  # (channels, y, x, samples)
        self._lock = threading.Lock()
        self._kept: collections.OrderedDict[int, np.ndarray] = collections.OrderedDict()

    def get(self, index: int) -> np.ndarray:
        with self._lock:
            frame = self._kept.get(index)
            if frame is None:
                try:
                    frame = np.reshape(self._f.read_frame(index), self._shape)
                except Exception as exc:
                    raise UnreadableFile(
                        f"{self._path.name}: frame {index} cannot be read ({library_error(exc, self._path)}); the "
                        "file may be truncated or corrupt."
                    ) from exc
                self._kept[index] = frame
                while len(self._kept) > _FRAMES_KEPT:
                    self._kept.popitem(last=False)
            else:
                self._kept.move_to_end(index)
            return frame


class Nd2Level(LazyArray):
    """One stage position as a lazy TCZYX array."""

    def __init__(self, frames: _Frames, index: dict[tuple[int, int], int], shape: tuple[int, ...], dtype: np.dtype):
        self._frames = frames
        self._index = index  # (t, z) -> frame number
        self._samples = frames._shape[3]
        self.shape = tuple(int(s) for s in shape)  # type: ignore[assignment]
        self.dtype = store_dtype(dtype)
        # A frame holds every channel: read them together, in bands of whole rows.
        self.chunks = (1, self.shape[1], 1, self.shape[3], self.shape[4])

    def _read(self, t: range, c: range, z: range, y: range, x: range) -> np.ndarray:
        out = np.zeros((len(t), len(c), len(z), len(y), len(x)), self.dtype)
        for ti, tt in enumerate(t):
            for zi, zz in enumerate(z):
                number = self._index.get((tt, zz))
                if number is None:
                    continue  # a frame the experiment never acquired reads as zeros
                frame = self._frames.get(number)
                for ci, cc in enumerate(c):
                    channel, sample = divmod(cc, self._samples)
                    out[ti, ci, zi] = cast(frame[channel, y.start : y.stop, x.start : x.stop, sample], self.dtype)
        return out


def _source(path: Path, f: Any, limits: ReaderLimits) -> SourceFile:
    sizes = dict(f.sizes)
    unknown = set(sizes) - _KNOWN_AXES
    if unknown:
        axes = ", ".join(sorted(unknown))
        raise UnreadableFile(f"{path.name}: the ND2 file has axes scopehub cannot import yet ({axes}).")
    size_p, size_t, size_z = (int(sizes.get(k, 1)) for k in "PTZ")
    size_c, size_s = int(sizes.get("C", 1)), int(sizes.get("S", 1))
    size_y, size_x = int(sizes["Y"]), int(sizes["X"])
    frames = _Frames(f, (size_c, size_y, size_x, size_s), path)
    by_position: dict[int, dict[tuple[int, int], int]] = collections.defaultdict(dict)
    for number, loops in enumerate(f.loop_indices or ({},)):
        by_position[int(loops.get("P", 0))][(int(loops.get("T", 0)), int(loops.get("Z", 0)))] = number
    meta = _metadata(f, size_c, size_s, size_z)
    names = _position_names(f, size_p)
    images = []
    for p in range(size_p):
        where = f"{path.name} (position {p})" if size_p > 1 else path.name
        level = Nd2Level(frames, by_position.get(p, {}), (size_t, size_c * size_s, size_z, size_y, size_x), f.dtype)
        info = ImageInfo(
            name=path.name if size_p == 1 else (names[p] or f"{path.name} [{p}]"),
            size_x=size_x,
            size_y=size_y,
            size_z=size_z,
            size_c=size_c * size_s,
            size_t=size_t,
            pixel_type=level.dtype.name,
            series=p,
            is_rgb=size_s == 3 and size_c == 1,
            format="nd2",
            **{**meta, "instrument": dict(meta["instrument"])},
        )
        info.channels = _channels(f, size_c, size_s)
        check_limits(info, limits, where)
        images.append(SourceImage(info=info, levels=[level]))
    return SourceFile(path, "nd2", images, close=f.close)


def _metadata(f: Any, size_c: int, size_s: int, size_z: int) -> dict[str, Any]:
    found: dict[str, Any] = {}
    try:
        voxel = f.voxel_size()
        found["physical_size_x"] = voxel.x if voxel.x > 0 else None
        found["physical_size_y"] = voxel.y if voxel.y > 0 else None
        found["physical_size_z"] = voxel.z if size_z > 1 and voxel.z > 0 else None
    except Exception:  # files without calibration
        pass
    try:
        # nd2 has no public accessor for the acquisition time; its reader's is guarded here.
        found["acquisition_date"] = f._rdr._acquisition_datetime()
    except Exception:
        found["acquisition_date"] = None
    instrument: dict[str, Any] = {}
    channels = (f.metadata.channels or []) if f.metadata else []
    if channels and channels[0].microscope:
        scope = channels[0].microscope
        objective = {
            "Model": scope.objectiveName,
            "NominalMagnification": scope.objectiveMagnification,
            "LensNA": scope.objectiveNumericalAperture,
            "RefractiveIndex": scope.immersionRefractiveIndex,
        }
        objective = {k: v for k, v in objective.items() if v not in (None, "")}
        if objective:
            instrument["objective"] = objective
        if scope.modalityFlags:
            instrument["modality"] = list(scope.modalityFlags)
    found["instrument"] = instrument
    return found


def _channels(f: Any, size_c: int, size_s: int) -> list[ChannelInfo]:
    """The channels as the file names them, RGB samples as red, green and blue."""
    if size_s == 3:
        rgb = [ChannelInfo(name=n, color=col) for n, col in zip(("Red", "Green", "Blue"), RGB_COLORS, strict=True)]
        return rgb * size_c
    channels = (f.metadata.channels or []) if f.metadata else []
    if len(channels) != size_c:
        return default_channels(size_c * size_s)
    out = []
    for ch, default in zip(channels, default_channels(size_c), strict=True):
        meta = ch.channel
        color = meta.color
        out.append(
            ChannelInfo(
                name=meta.name or default.name,
                color=f"{color.r:02X}{color.g:02X}{color.b:02X}" if color is not None else default.color,
                emission_wavelength=meta.emissionLambdaNm or None,
                excitation_wavelength=meta.excitationLambdaNm or None,
            )
        )
    return out


def _position_names(f: Any, count: int) -> list[str]:
    for loop in f.experiment or []:
        if loop.type == "XYPosLoop":
            names = [p.name or "" for p in loop.parameters.points]
            if len(names) == count:
                return names
    return [""] * count
