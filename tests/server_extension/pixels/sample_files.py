"""Source files for the reader and writer tests: real ones from the stardist wheel, generated ones.

Generated files are written with tifffile, Pillow and zarr-python into temporary folders, small
enough to keep the tests fast; ``stardist_images`` fetches the wheel once with pip into pytest's
cache (``pip download`` needs the package index, which CI reaches) and skips when it cannot.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
import zarr
from PIL import Image

STARDIST_FILES = ("img2d.tif", "img3d.tif", "mask2d.tif", "histo.jpg")

OME_INSTRUMENT_XML = """<?xml version="1.0" encoding="UTF-8"?>
<OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06"
     xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
     xsi:schemaLocation="http://www.openmicroscopy.org/Schemas/OME/2016-06 http://www.openmicroscopy.org/Schemas/OME/2016-06/ome.xsd">
  <Instrument ID="Instrument:0">
    <Microscope Manufacturer="Zeiss" Model="LSM 980" Type="Inverted"/>
    <Detector ID="Detector:0" Model="Airyscan" Type="PMT"/>
    <Objective ID="Objective:0" Model="Plan-Apochromat 63x/1.40 Oil" NominalMagnification="63" LensNA="1.4"
               Immersion="Oil"/>
  </Instrument>
  <Image ID="Image:0" Name="cells">
    <AcquisitionDate>2024-03-05T10:11:12</AcquisitionDate>
    <Description>two channels, three planes</Description>
    <InstrumentRef ID="Instrument:0"/>
    <ObjectiveSettings ID="Objective:0" RefractiveIndex="1.518"/>
    <Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="uint16" SizeX="96" SizeY="80" SizeZ="3" SizeC="2" SizeT="1"
            PhysicalSizeX="0.1" PhysicalSizeXUnit="µm" PhysicalSizeY="100" PhysicalSizeYUnit="nm"
            PhysicalSizeZ="0.5" PhysicalSizeZUnit="µm">
      <Channel ID="Channel:0:0" Name="DAPI" Color="65535" EmissionWavelength="461" EmissionWavelengthUnit="nm"
               ExcitationWavelength="405" SamplesPerPixel="1"/>
      <Channel ID="Channel:0:1" Name="GFP" Color="16711935" EmissionWavelength="0.509"
               EmissionWavelengthUnit="µm" SamplesPerPixel="1"/>
      <TiffData IFD="0" PlaneCount="6"/>
    </Pixels>
  </Image>
  <Image ID="Image:1" Name="overview">
    <Pixels ID="Pixels:1" DimensionOrder="XYZCT" Type="float" SizeX="40" SizeY="30" SizeZ="1" SizeC="1" SizeT="1">
      <Channel ID="Channel:1:0" SamplesPerPixel="1"/>
      <TiffData IFD="6" PlaneCount="1"/>
    </Pixels>
  </Image>
</OME>
"""


def sha256(path: Path) -> str:
    """Digest of a file, or of every file under a folder (names included)."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        digest.update(str(f.relative_to(path) if path.is_dir() else f.name).encode())
        digest.update(f.read_bytes())
    return digest.hexdigest()


def ramp(shape: tuple[int, ...], dtype: str, seed: int = 0) -> np.ndarray:
    """Deterministic data that uses the type's range and differs in every pixel and plane."""
    rng = np.random.default_rng(seed)
    dt_ = np.dtype(dtype)
    if dt_.kind == "f":
        return rng.normal(10.0, 3.0, shape).astype(dt_)
    info = np.iinfo(dt_)
    lo, hi = max(info.min, -30000), min(info.max, 60000)
    return rng.integers(lo, hi, shape, dtype=dt_, endpoint=True)


# -- real files ------------------------------------------------------------------------------------


def fetch_stardist_images(cache: Path) -> Path:
    """The stardist wheel's sample images, downloaded once with pip; skip the test when pip cannot."""
    images = cache / "stardist" / "data" / "images"
    if all((images / name).is_file() for name in STARDIST_FILES):
        return images
    wheels = cache / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    if not list(wheels.glob("stardist-*.whl")):
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "stardist",
            "-d",
            str(wheels),
        ]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
        except subprocess.TimeoutExpired:
            pytest.skip("pip download stardist timed out: the package index is not reachable")
        if done.returncode != 0:
            pytest.skip(f"pip cannot download the stardist wheel (no package index?): {done.stderr.strip()[-300:]}")
    wheel = sorted(wheels.glob("stardist-*.whl"))[-1]
    with zipfile.ZipFile(wheel) as z:
        for name in STARDIST_FILES:
            z.extract(f"stardist/data/images/{name}", cache)
    return images


# -- generated TIFF family ---------------------------------------------------------------------------


def ome_multiseries(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Two OME-TIFF series (ZCYX uint16 with instrument metadata, and a float32 plane), our own OME-XML."""
    first = ramp((2, 3, 80, 96), "uint16", 1)  # C, Z, Y, X as the XYZCT order stores planes
    second = ramp((30, 40), "float32", 2)
    with tifffile.TiffWriter(path, ome=False) as tif:
        planes = first.reshape(6, 80, 96)
        for i, plane in enumerate(planes):
            tif.write(
                plane,
                description=OME_INSTRUMENT_XML.encode() if i == 0 else None,
                metadata=None,
                photometric="minisblack",
                contiguous=False,
            )
        tif.write(second, metadata=None, photometric="minisblack", contiguous=False)
    return first, second


def ome_multifile(folder: Path) -> tuple[Path, Path]:
    """A two-file OME-TIFF fileset: channel 0 in the first file (which holds the OME-XML), channel 1 in the second."""
    first, second = folder / "split_a.ome.tif", folder / "split_b.ome.tif"
    u1, u2 = "urn:uuid:6d0f9b4e-0000-4000-8000-000000000001", "urn:uuid:6d0f9b4e-0000-4000-8000-000000000002"
    ns = "http://www.openmicroscopy.org/Schemas/OME/2016-06"
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<OME xmlns="{ns}" UUID="{u1}">
  <Image ID="Image:0" Name="split">
    <Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="uint8" SizeX="64" SizeY="48" SizeZ="1" SizeC="2" SizeT="1">
      <Channel ID="Channel:0:0" Name="one" SamplesPerPixel="1"/>
      <Channel ID="Channel:0:1" Name="two" SamplesPerPixel="1"/>
      <TiffData FirstC="0" IFD="0" PlaneCount="1"><UUID FileName="{first.name}">{u1}</UUID></TiffData>
      <TiffData FirstC="1" IFD="0" PlaneCount="1"><UUID FileName="{second.name}">{u2}</UUID></TiffData>
    </Pixels>
  </Image>
</OME>"""
    binary_only = f"""<?xml version="1.0" encoding="UTF-8"?>
<OME xmlns="{ns}" UUID="{u2}"><BinaryOnly MetadataFile="{first.name}" UUID="{u1}"/></OME>"""
    tifffile.imwrite(first, np.full((48, 64), 11, np.uint8), description=xml.encode(), metadata=None)
    tifffile.imwrite(second, np.full((48, 64), 22, np.uint8), description=binary_only.encode(), metadata=None)
    return first, second


def ome_timelapse(path: Path) -> np.ndarray:
    """A TCZYX OME-TIFF: 3 time points, 2 channels, 4 planes."""
    data = ramp((3, 2, 4, 40, 50), "int16", 3)
    tifffile.imwrite(
        path,
        data,
        ome=True,
        photometric="minisblack",
        metadata={"axes": "TCZYX", "Channel": {"Name": ["a", "b"]}, "PhysicalSizeZ": 2.0},
    )
    return data


def subifd_pyramid(
    path: Path,
    size: tuple[int, int] = (1300, 1100),
    channels: int = 2,
    tile: int = 256,
    levels: int = 3,
    level1_value: int | None = None,
) -> list[np.ndarray]:
    """An OME-TIFF (CYX uint16, zlib tiles) with SubIFD levels, each the exact 2× mean of the last.

    ``level1_value`` fills level 1 with a constant instead, to tell a copied level from a computed one.
    """
    from scopehub.server_extension.pixels.downsample import halve

    data = [ramp((channels, *size), "uint16", 4)]
    for _ in range(1, levels):
        data.append(halve(data[-1]))
    if level1_value is not None:
        data[1] = np.full_like(data[1], level1_value)
    with tifffile.TiffWriter(path, bigtiff=True, ome=True) as tif:
        tif.write(
            data[0],
            subifds=levels - 1,
            tile=(tile, tile),
            compression="zlib",
            photometric="minisblack",
            metadata={"axes": "CYX", "PhysicalSizeX": 0.5, "PhysicalSizeY": 0.5},
        )
        for level in data[1:]:
            tif.write(level, subfiletype=1, tile=(tile, tile), compression="zlib", photometric="minisblack")
    return data


def series_pyramid(path: Path) -> list[np.ndarray]:
    """A plain (non-OME) TIFF whose pyramid levels are reduced-resolution pages after the first."""
    from scopehub.server_extension.pixels.downsample import halve

    data = [ramp((1200, 1000), "uint8", 5)]
    data.append(halve(data[0]))
    data.append(halve(data[1]))
    with tifffile.TiffWriter(path) as tif:
        tif.write(data[0], tile=(256, 256), compression="zlib", photometric="minisblack")
        for level in data[1:]:
            tif.write(level, tile=(256, 256), compression="zlib", photometric="minisblack", subfiletype=1)
    return data


def plain_tiff(path: Path, dtype: str, shape: tuple[int, ...] = (70, 90), **kwargs: object) -> np.ndarray:
    data = ramp(shape, dtype, 6)
    tifffile.imwrite(path, data, photometric="minisblack", **kwargs)
    return data


def imagej_hyperstack(path: Path) -> np.ndarray:
    """An ImageJ TZCYX hyperstack with a micron calibration."""
    data = ramp((2, 3, 2, 32, 48), "uint8", 7)
    tifffile.imwrite(
        path,
        data,
        imagej=True,
        resolution=(1 / 0.2, 1 / 0.2),
        metadata={"axes": "TZCYX", "unit": "micron", "spacing": 1.5},
    )
    return data


def rgb_tiff(path: Path, planar: bool) -> np.ndarray:
    data = ramp((300, 260, 3), "uint8", 8)
    if planar:
        tifffile.imwrite(
            path,
            np.moveaxis(data, -1, 0),
            photometric="rgb",
            planarconfig="separate",
            tile=(128, 128),
            compression="zlib",
        )
    else:
        tifffile.imwrite(path, data, photometric="rgb", rowsperstrip=16, compression="lzw")
    return data


def svs_like(path: Path) -> np.ndarray:
    """An Aperio-style slide: JPEG RGB tiles, a thumbnail, a 4× level, and a label photograph."""
    y, x = np.mgrid[0:1536, 0:1280]
    data = np.stack([(y // 8) % 256, (x // 8) % 256, ((x + y) // 16) % 256], axis=-1).astype(np.uint8)
    head = "Aperio Image Library vFake\r\n1280x1536 [0,0 1280x1536] (256x256) JPEG/RGB Q=90"
    desc = f"{head}|AppMag = 20|MPP = 0.4990|Date = 12/29/09|Time = 09:59:15|ScanScope ID = SS1234"
    with tifffile.TiffWriter(path) as tif:
        tif.write(data, photometric="rgb", tile=(256, 256), compression="jpeg", description=desc, metadata=None)
        tif.write(data[::8, ::8], photometric="rgb", compression="jpeg", description=head, metadata=None)
        tif.write(
            np.ascontiguousarray(data[::4, ::4]),
            photometric="rgb",
            tile=(256, 256),
            compression="jpeg",
            description=head,
            metadata=None,
        )
        tif.write(
            data[::16, ::16],
            photometric="rgb",
            compression="jpeg",
            description=head + "\r\nlabel",
            subfiletype=1,
            metadata=None,
        )
    return data


def ndpi_like(path: Path) -> np.ndarray:
    """A Hamamatsu-style slide (NDPI tags), JPEG RGB tiles, a 2× level and a macro photograph."""
    y, x = np.mgrid[0:1024, 0:768]
    data = np.stack([(y // 4) % 256, (x // 4) % 256, ((x - y) // 8) % 256], axis=-1).astype(np.uint8)

    def tags(magnification: float) -> list[tuple[int, str, int, object, bool]]:
        return [
            (65420, "I", 1, 1, True),
            (271, "s", 0, "Hamamatsu", True),
            (272, "s", 0, "C13220", True),
            (65421, "f", 1, magnification, True),
        ]

    with tifffile.TiffWriter(path) as tif:
        tif.write(
            data,
            photometric="rgb",
            tile=(256, 256),
            compression="jpeg",
            extratags=tags(20),
            resolution=(40000, 40000),
            resolutionunit="CENTIMETER",
            metadata=None,
        )
        tif.write(
            np.ascontiguousarray(data[::2, ::2]),
            photometric="rgb",
            tile=(256, 256),
            compression="jpeg",
            extratags=tags(10),
            metadata=None,
        )
        tif.write(
            np.ascontiguousarray(data[::16, ::16]),
            photometric="rgb",
            compression="jpeg",
            extratags=tags(-1),
            metadata=None,
        )
    return data


# -- Pillow formats ------------------------------------------------------------------------------------


def pillow_image(path: Path, mode: str, size: tuple[int, int] = (120, 90)) -> np.ndarray:
    """An image in ``mode`` ("RGB", "L", "I;16", "RGBA", "P") saved by the file's extension."""
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    if mode in ("RGB", "RGBA", "P"):
        rgb = np.stack([x * 2 % 256, y * 2 % 256, (x + y) % 256], axis=-1).astype(np.uint8)
        image = Image.fromarray(rgb)
        if mode == "RGBA":
            image.putalpha(128)
        elif mode == "P":
            image = image.quantize(16)
        image.save(path)
        return rgb
    if mode == "I;16":
        data = (x * 500 + y).astype(np.uint16)
        Image.fromarray(data).save(path)
        return data
    data = ((x + y) % 256).astype(np.uint8)
    Image.fromarray(data).save(path)
    return data


# -- OME-Zarr ------------------------------------------------------------------------------------------


def ome_zarr(path: Path, version: str) -> tuple[np.ndarray, np.ndarray]:
    """An OME-Zarr image (czyx uint16, two levels, omero channels) with a label image "cells".

    ``version`` "0.4" writes zarr v2 with metadata at the top of the attributes, "0.5" zarr v3
    with it under "ome".
    """
    zarr_format = 2 if version == "0.4" else 3
    data = ramp((2, 3, 700, 600), "uint16", 10)
    labels = np.zeros((3, 700, 600), np.uint32)
    labels[:, 100:300, 50:250] = 7
    labels[:, 400:650, 300:550] = 9
    root = zarr.open_group(str(path), mode="w", zarr_format=zarr_format)
    axes = [
        {"name": "c", "type": "channel"},
        {"name": "z", "type": "space", "unit": "micrometer"},
        {"name": "y", "type": "space", "unit": "micrometer"},
        {"name": "x", "type": "space", "unit": "micrometer"},
    ]
    levels = [data, data[:, :, ::2, ::2]]
    for k, level in enumerate(levels):
        root.create_array(str(k), data=level, chunks=(1, 1, 256, 256))
    multiscales = [
        {
            "name": "zarr image",
            "axes": axes,
            "datasets": [
                {
                    "path": str(k),
                    "coordinateTransformations": [{"type": "scale", "scale": [1.0, 2.0, 0.25 * 2**k, 0.25 * 2**k]}],
                }
                for k in range(2)
            ],
            **({"version": "0.4"} if version == "0.4" else {}),
        }
    ]
    omero = {
        "channels": [
            {"label": "nuclei", "color": "0000FF", "window": {"min": 0, "max": 65535, "start": 100, "end": 4000}},
            {"label": "membranes", "color": "FF0000", "window": {"min": 0, "max": 65535, "start": 0, "end": 0}},
        ]
    }
    label_axes = axes[1:]
    label_ms = [
        {
            "name": "cells",
            "axes": label_axes,
            "datasets": [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [2.0, 0.25, 0.25]}]}],
            **({"version": "0.4"} if version == "0.4" else {}),
        }
    ]
    image_label = {"colors": [{"label-value": 7, "rgba": [255, 0, 0, 255]}], "source": {"image": "../../"}}
    labels_group = root.create_group("labels")
    cells = labels_group.create_group("cells")
    cells.create_array("0", data=labels, chunks=(1, 256, 256))
    if version == "0.4":
        root.attrs.update({"multiscales": multiscales, "omero": omero})
        labels_group.attrs.update({"labels": ["cells"]})
        cells.attrs.update({"multiscales": label_ms, "image-label": {"version": "0.4", **image_label}})
    else:
        root.attrs.update({"ome": {"version": "0.5", "multiscales": multiscales, "omero": omero}})
        labels_group.attrs.update({"ome": {"version": "0.5", "labels": ["cells"]}})
        cells.attrs.update({"ome": {"version": "0.5", "multiscales": label_ms, "image-label": image_label}})
    return data, labels


# -- bad input -----------------------------------------------------------------------------------------


def truncated_tiff(path: Path, keep: float = 0.6) -> None:
    """A tiled zlib TIFF cut short (as by an interrupted copy)."""
    plain_tiff(path, "uint16", (600, 600), tile=(128, 128), compression="zlib")
    data = path.read_bytes()
    # tifffile writes the IFD first, so the cut falls inside the pixel data.
    path.write_bytes(data[: int(len(data) * keep)])


def ome_stack(path: Path, ifds_first: bool = False) -> np.ndarray:
    """A TCZYX OME-TIFF (1 × 4 channels × 3 z, 100 × 120 uint16, 64² zlib tiles): 12 IFDs.

    As tifffile writes it, the first IFD comes first, then all pixel data, then the other IFDs and
    (rewritten on close) the OME-XML. ``ifds_first`` writes plane by plane instead (each IFD before
    its tiles, the OME-XML with the first), so the file ends in the last plane's last tile.
    """
    data = ramp((1, 4, 3, 100, 120), "uint16", 11)
    options = {"photometric": "minisblack", "tile": (64, 64), "compression": "zlib"}
    metadata = {"axes": "TCZYX", "Channel": {"Name": ["a", "b", "c", "d"]}, "PhysicalSizeX": 0.5}
    tifffile.imwrite(path, data, ome=True, metadata=metadata, **options)
    if ifds_first:
        with tifffile.TiffFile(path) as tif:
            xml = tif.ome_metadata
        with tifffile.TiffWriter(path, ome=False) as tif:
            for i, plane in enumerate(data.reshape(12, 100, 120)):
                tif.write(plane, description=xml.encode() if i == 0 else None, metadata=None, contiguous=False,
                          **options)
    return data


def ome_fewer_planes(path: Path, planes: int = 5) -> None:
    """An OME-TIFF whose OME-XML declares 12 planes (4 channels × 3 z) but which holds only ``planes`` IFDs,
    each whole: a writer stopped early, the file's structure intact."""
    full = path.with_name("full-" + path.name)
    data = ome_stack(full)
    with tifffile.TiffFile(full) as tif:
        xml = tif.ome_metadata
    full.unlink()
    with tifffile.TiffWriter(path, ome=False) as tif:
        for i, plane in enumerate(data.reshape(12, 100, 120)[:planes]):
            tif.write(plane, description=xml.encode() if i == 0 else None, metadata=None, contiguous=False,
                      photometric="minisblack")


def pyramid_data_last(path: Path) -> list[np.ndarray]:
    """A SubIFD pyramid (2 channels, 3 levels, 128² zlib tiles) with its OME-XML in the first IFD, so the
    file ends in the smallest level's last tile."""
    full = path.with_name("full-" + path.name)
    data = subifd_pyramid(full, (600, 500), tile=128)
    with tifffile.TiffFile(full) as tif:
        xml = tif.ome_metadata
    full.unlink()
    options = {"tile": (128, 128), "compression": "zlib", "photometric": "minisblack", "metadata": None}
    with tifffile.TiffWriter(path, bigtiff=True, ome=False) as tif:
        for c in range(data[0].shape[0]):
            tif.write(data[0][c], subifds=len(data) - 1, description=xml.encode() if c == 0 else None, **options)
            for level in data[1:]:
                tif.write(level[c], subfiletype=1, **options)
    return data


def ifd_offsets(path: Path) -> list[int]:
    """Where each IFD of the main chain starts."""
    with tifffile.TiffFile(path) as tif:
        return [page.offset for page in tif.pages]


def last_tile(path: Path) -> tuple[int, int]:
    """(offset, byte count) of the tile or strip that ends last in the file, SubIFDs included."""
    ends: list[tuple[int, int]] = []
    with tifffile.TiffFile(path) as tif:
        for page in [*tif.pages, *(p for s in tif.series for level in s.levels for p in level.pages)]:
            ends += zip(page.dataoffsets, page.databytecounts, strict=True)
    return max(ends, key=lambda e: e[0] + e[1])


def cut(path: Path, size: int, to: Path | None = None) -> Path:
    """A copy of ``path`` (or ``path`` itself) cut to its first ``size`` bytes, as by an interrupted copy."""
    to = to or path
    to.write_bytes(path.read_bytes()[:size])
    return to


def imagej_contiguous(path: Path, planes: int = 12) -> np.ndarray:
    """An ImageJ hyperstack (3 z × 4 channels) stored as ImageJ stores files over 4 GB: one IFD, then all planes'
    data one after another. ``planes`` < 12 leaves the last ones out (the file cut short)."""
    data = ramp((3, 4, 80, 90), "uint16", 12)
    desc = "ImageJ=1.11a\nimages=12\nchannels=4\nslices=3\nhyperstack=true\nmode=grayscale\n"
    flat = data.reshape(12, 80, 90)
    tifffile.imwrite(path, flat[0], description=desc, metadata=None, photometric="minisblack")
    with open(path, "ab") as f:  # a single IFD's data is the last thing tifffile writes
        f.write(flat[1:planes].tobytes())
    return data


def ndpi_layout(path: Path) -> np.ndarray:
    """A minimal NDPI-layout file (classic TIFF with 64-bit IFD offsets and high-bits blocks), which tifffile
    reads as such when it is named ``.ndpi``: one uncompressed 60 × 80 uint8 strip."""
    data = (np.arange(60 * 80) % 251).astype(np.uint8).reshape(60, 80)
    h, w = data.shape
    tags = [(256, 4, w), (257, 4, h), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, None), (277, 3, 1),
            (278, 4, h), (279, 4, h * w), (65420, 4, 1)]
    n = len(tags)
    ifd = 16
    data_at = ifd + 2 + 12 * n + 8 + 4 * n
    entries = b"".join(
        struct.pack("<HHI", code, kind, 1)
        + (struct.pack("<I", data_at if v is None else v) if kind == 4 else struct.pack("<HH", v, 0))
        for code, kind, v in tags
    )
    path.write_bytes(b"II*\x00" + struct.pack("<Q", ifd) + bytes(4) + struct.pack("<H", n) + entries
                     + struct.pack("<Q", 0) + bytes(4 * n) + data.tobytes())
    return data


def huge_header_tiff(path: Path, side: int = 10**6) -> None:
    """A small, valid TIFF whose ImageWidth and ImageLength are rewritten to ``side``."""
    tifffile.imwrite(path, np.zeros((16, 16), np.uint8), metadata=None, photometric="minisblack")
    with tifffile.TiffFile(path, mode="r+b") as tif:
        tags = tif.pages.first.tags
        tags["ImageWidth"].overwrite(side)
        tags["ImageLength"].overwrite(side)
        tags["RowsPerStrip"].overwrite(side)


def zlib_bomb_tiff(path: Path, inflated: int = 2**27) -> None:
    """A TIFF with one 512² uint16 tile (512 KiB) whose zlib stream inflates to ``inflated`` bytes."""
    compressor = zlib.compressobj(1)
    zeros = bytes(2**24)
    parts = [compressor.compress(zeros) for _ in range(inflated // len(zeros))]
    parts.append(compressor.flush())
    tile = b"".join(parts)
    with tifffile.TiffWriter(path) as tif:
        tif.write(
            iter([tile]),
            shape=(512, 512),
            dtype="uint16",
            tile=(512, 512),
            compression="zlib",
            photometric="minisblack",
            metadata=None,
        )


def corrupt_tile_tiff(path: Path) -> None:
    """A tiled zlib TIFF whose third tile is garbage (the file's structure is intact)."""
    plain_tiff(path, "uint16", (600, 600), tile=(256, 256), compression="zlib")
    with tifffile.TiffFile(path) as tif:
        page = tif.pages.first
        offset, count = page.dataoffsets[2], page.databytecounts[2]
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(bytes(range(256)) * (count // 256) + bytes(count % 256))


def png_bomb(path: Path, side: int = 100_000) -> None:
    """A PNG whose header declares side × side pixels, with a tiny stream of zeros."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    raw = zlib.compress(bytes(side + 1) * 64, 9)  # a few rows; the header is what matters
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", raw)
        + chunk(b"IEND", b"")
    )


def truncated_png(path: Path) -> None:
    pillow_image(path, "RGB", (400, 300))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def acquisition(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)
