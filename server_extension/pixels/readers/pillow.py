"""PNG, JPEG, BMP (and GIF, WebP, PPM): through Pillow, decoded whole, so only up to a size limit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..info import RGB_COLORS, ChannelInfo, ImageInfo
from .base import NumpyLevel, ReaderLimits, SourceFile, SourceImage, UnreadableFile, check_limits, default_channels

FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP", "PPM", "MPO")
Image.init()
# Image.open(formats=...) raises KeyError for a name Pillow has no opener for (Pillow 13 opens MPO as JPEG).
FORMATS = tuple(f for f in FORMATS if f in Image.OPEN)
# Pillow mode -> (numpy dtype, channels, mode to convert to before reading), for the modes we keep.
_MODES = {
    "1": ("uint8", 1, "L"),
    "L": ("uint8", 1, None),
    "LA": ("uint8", 1, "L"),
    "P": ("uint8", 3, "RGB"),
    "PA": ("uint8", 3, "RGB"),
    "RGB": ("uint8", 3, None),
    "RGBA": ("uint8", 3, "RGB"),
    "RGBX": ("uint8", 3, "RGB"),
    "CMYK": ("uint8", 3, "RGB"),
    "YCbCr": ("uint8", 3, "RGB"),
    "LAB": ("uint8", 3, "RGB"),
    "I;16": ("uint16", 1, None),
    "I;16L": ("uint16", 1, None),
    "I;16B": ("uint16", 1, None),
    "I": ("int32", 1, None),
    "F": ("float32", 1, None),
}
# EXIF orientations that swap width and height.
_TRANSPOSED = {5, 6, 7, 8}


def open_pillow(path: Path, limits: ReaderLimits) -> SourceFile | None:
    """Open an image Pillow knows, or return None when it is not one of FORMATS."""
    try:
        im = Image.open(path, formats=FORMATS)
    except UnidentifiedImageError:
        return None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UnreadableFile(f"{path.name}: the header declares more pixels than allowed ({exc}).") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise UnreadableFile(f"{path.name}: the image header is corrupt ({exc}).") from exc
    try:
        return _source(path, im, limits)
    except BaseException:
        im.close()
        raise


def _source(path: Path, im: Image.Image, limits: ReaderLimits) -> SourceFile:
    if im.mode not in _MODES:
        raise UnreadableFile(f"{path.name}: Pillow mode {im.mode!r} is not supported.")
    dtype, channels, convert = _MODES[im.mode]
    width, height = im.size
    orientation = 1
    if im.format in ("JPEG", "MPO", "WEBP"):  # photographs may be stored sideways, with an EXIF note
        try:
            orientation = int(im.getexif().get(0x0112, 1))
        except (OSError, SyntaxError, ValueError, TypeError):
            orientation = 1
    if orientation in _TRANSPOSED:
        width, height = height, width
    info = ImageInfo(
        name=path.name,
        size_x=width,
        size_y=height,
        size_c=channels,
        pixel_type=dtype,
        is_rgb=channels == 3,
        format=im.format.lower(),
    )
    check_limits(info, limits, path.name)
    decoded = width * height * channels * np.dtype(dtype).itemsize
    if decoded > limits.max_decoded_bytes or width * height > (Image.MAX_IMAGE_PIXELS or float("inf")):
        raise UnreadableFile(
            f"{path.name}: {width} × {height} pixels is too large for a {im.format} file, which must be decoded "
            "whole; convert it to a tiled (OME-)TIFF."
        )
    info.channels = (
        [ChannelInfo(name=n, color=c) for n, c in zip(("Red", "Green", "Blue"), RGB_COLORS, strict=True)]
        if channels == 3
        else default_channels(1)
    )
    dpi = im.info.get("dpi")
    if dpi and dpi[0] and dpi[0] >= 1000:  # a microscope's resolution, not a screen's
        info.physical_size_x = 25400.0 / float(dpi[0])
        info.physical_size_y = 25400.0 / float(dpi[1] or dpi[0])

    def load() -> np.ndarray:
        try:
            im.load()
            image = ImageOps.exif_transpose(im) if orientation != 1 else im
            if convert:
                image = image.convert(convert)
            data = np.asarray(image)
        except (OSError, SyntaxError, ValueError) as exc:
            raise UnreadableFile(f"{path.name}: the image data is truncated or corrupt ({exc}).") from exc
        data = data[None] if data.ndim == 2 else np.moveaxis(data, -1, 0)
        return data.astype(dtype, copy=False).reshape(1, channels, 1, height, width)

    level = NumpyLevel((1, channels, 1, height, width), np.dtype(dtype), load)
    return SourceFile(path, info.format, [SourceImage(info=info, levels=[level])], close=im.close)
