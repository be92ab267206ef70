"""Files of the formats extra's formats, for the reader and import tests.

- CZI: written with pylibCZIrw (Zeiss's own writer), its XML metadata completed with pylibCZIrw's
  editor the way ZEN writes it (channel colours and wavelengths, acquisition date, scene names,
  microscope and objective).
- ND2: no library writes ND2. The real ``cluster.nd2`` (a Nikon A1 confocal: 3 time points × 10 z ×
  2 channels, 38 × 31 pixels) ships inside the ``pims_nd2`` sdist on PyPI; ``fetch_cluster_nd2``
  gets it once with ``pip download`` (as the stardist images are fetched) and skips when it cannot.
- LIF: no library writes LIF and no package on PyPI ships one (checked: readlif, bioio-lif, liffile,
  read-lif, explore-lif, lif, fractal-lif-converters and others). ``lif_file`` writes the container
  as Leica's format lays it out (an XML header block, then one memory block per image), and the
  tests read what it writes with two independent readers, liffile and Bio-Formats' LIFReader.
  Widths are multiples of 4: Bio-Formats takes any gap after a plane of another width for row padding.
- Bio-Formats' "fake" format: a file whose name declares the image (``fake_file``).
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import pytest

from .sample_files import ramp

ND2_SDIST = "pims_nd2==1.1"
ND2_MEMBER = "pims_nd2-1.1/pims_nd2/cluster.nd2"

CZI_CHANNELS = [
    # name, colour (#AARRGGBB as ZEN writes it), excitation, emission (nm)
    ("DAPI", "#FF0000FF", 353, 465),
    ("AF488", "#FF00FF00", 493, 517),
    ("AF647", "#FFFF00FF", 653, 668),
]


# -- CZI ----------------------------------------------------------------------------------------------


def czi_file(
    path: Path,
    *,
    shape: tuple[int, int, int, int, int] = (2, 3, 4, 150, 200),
    scenes: tuple[tuple[int, int], ...] = ((0, 0),),
    dtype: str = "uint16",
    compression: str | None = "zstd1:ExplicitLevel=1",
    seed: int = 20,
) -> list[np.ndarray]:
    """A CZI of one or more scenes (each TCZYX ``shape``, at the given offsets), with ZEN-like metadata.

    Returns each scene's pixels as TCZYX.
    """
    from pylibCZIrw import czi as pyczi

    t, c, z, y, x = shape
    scenes_data = [ramp(shape, dtype, seed + k) for k in range(len(scenes))]
    with pyczi.create_czi(str(path), exist_ok=True, compression_options=compression) as writer:
        for k, (ox, oy) in enumerate(scenes):
            for tt in range(t):
                for cc in range(c):
                    for zz in range(z):
                        writer.write(
                            data=scenes_data[k][tt, cc, zz],
                            plane={"T": tt, "C": cc, "Z": zz},
                            scene=k,
                            location=(ox, oy),
                        )
        writer.write_metadata(
            document_name=path.stem,
            channel_names={i: CZI_CHANNELS[i % len(CZI_CHANNELS)][0] for i in range(c)},
            scale_x=0.325e-6,  # CZI stores metres
            scale_y=0.325e-6,
            scale_z=1.5e-6,
        )
    _complete_czi_metadata(path, c, len(scenes))
    return scenes_data


def czi_rgb(path: Path) -> np.ndarray:
    """A brightfield-style Bgr24 CZI; returns its pixels as (y, x, RGB)."""
    from pylibCZIrw import czi as pyczi

    y, x = np.mgrid[0:120, 0:160]
    rgb = np.stack([(x * 2) % 256, (y * 2) % 256, (x + y) % 256], axis=-1).astype(np.uint8)
    with pyczi.create_czi(str(path), exist_ok=True) as writer:
        writer.write(data=np.ascontiguousarray(rgb[..., ::-1]), plane={"C": 0})  # libCZI keeps B, G, R
        writer.write_metadata(document_name="rgb", scale_x=1e-6, scale_y=1e-6)
    return rgb


def _complete_czi_metadata(path: Path, channels: int, scenes: int) -> None:
    """What ZEN writes and pylibCZIrw's writer does not: colours, wavelengths, date, scene names, instrument."""
    from pylibCZIrw import czi as pyczi

    with pyczi.edit_czi(str(path)) as editor:
        root = ElementTree.fromstring(editor.read_metadata_xml())
        image = root.find("./Metadata/Information/Image")
        assert image is not None
        ElementTree.SubElement(image, "AcquisitionDateAndTime").text = "2024-05-06T07:08:09.1234567Z"
        for i, channel in enumerate(image.iterfind("./Dimensions/Channels/Channel")):
            _, color, excitation, emission = CZI_CHANNELS[i % len(CZI_CHANNELS)]
            ElementTree.SubElement(channel, "Color").text = color
            ElementTree.SubElement(channel, "ExcitationWavelength").text = str(excitation)
            ElementTree.SubElement(channel, "EmissionWavelength").text = str(emission)
        if scenes > 1:
            dims = image.find("./Dimensions")
            assert dims is not None
            found = ElementTree.SubElement(ElementTree.SubElement(dims, "S"), "Scenes")
            for k in range(scenes):
                ElementTree.SubElement(found, "Scene", Index=str(k), Name=f"well B{k + 2}")
        information = root.find("./Metadata/Information")
        assert information is not None
        instrument = ElementTree.SubElement(information, "Instrument")
        microscope = ElementTree.SubElement(ElementTree.SubElement(instrument, "Microscopes"), "Microscope")
        microscope.set("Name", "Axio Observer.Z1 / 7")
        objective = ElementTree.SubElement(ElementTree.SubElement(instrument, "Objectives"), "Objective")
        objective.set("Name", "Plan-Apochromat 20x/0.8 M27")
        ElementTree.SubElement(objective, "LensNA").text = "0.8"
        ElementTree.SubElement(objective, "NominalMagnification").text = "20"
        ElementTree.SubElement(objective, "Immersion").text = "Air"
        with editor.edit_session() as builder:
            builder.set_xml(ElementTree.tostring(root, encoding="unicode"))


def truncated(path: Path, keep: float = 0.5) -> None:
    """Cut a file short, as an interrupted copy does."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


# -- ND2 ----------------------------------------------------------------------------------------------


def fetch_cluster_nd2(cache: Path) -> Path:
    """The real ``cluster.nd2`` from the pims_nd2 sdist, downloaded once with pip; skip when pip cannot."""
    target = cache / "cluster.nd2"
    if target.is_file():
        return target
    sdists = cache / "sdists"
    sdists.mkdir(parents=True, exist_ok=True)
    if not list(sdists.glob("pims_nd2-*.tar.gz")):
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary=:all:"]
        cmd += ["--disable-pip-version-check", ND2_SDIST, "-d", str(sdists)]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            pytest.skip("pip download pims_nd2 timed out: the package index is not reachable")
        if done.returncode != 0:
            pytest.skip(f"pip cannot download the pims_nd2 sdist (no package index?): {done.stderr.strip()[-300:]}")
    sdist = sorted(sdists.glob("pims_nd2-*.tar.gz"))[-1]
    with tarfile.open(sdist) as tar:
        member = tar.extractfile(ND2_MEMBER)
        assert member is not None, f"{ND2_MEMBER} is not in {sdist.name}"
        partial = target.with_suffix(".part")
        partial.write_bytes(member.read())
        partial.replace(target)
    return target


# -- LIF ----------------------------------------------------------------------------------------------


def lif_file(path: Path, images: list[dict], timestamp: int | None = None) -> None:
    """A LIF (version 2) file: ``images`` are dicts with ``name``, ``data`` (TZCYX, unsigned or float32),
    ``pixel_size`` and ``z_step`` (metres) and ``channels`` [(dye name, LUT name)]; ``timestamp`` is a
    Windows FILETIME (100 ns since 1601) written as every image's time stamp."""
    blocks: list[tuple[str, bytes]] = [("MemBlock_0", b"")]
    elements = []
    for k, image in enumerate(images):
        data = np.ascontiguousarray(image["data"])
        t, z, c, y, x = data.shape
        assert x % 4 == 0, "Bio-Formats reads other widths as padded rows"
        b = data.dtype.itemsize
        kind, bits = (0, b * 8) if data.dtype.kind == "u" else (1, 32)
        channels = "".join(
            f'<ChannelDescription DataType="{kind}" ChannelTag="0" Resolution="{bits}" NameOfMeasuredQuantity="" '
            f'Min="0" Max="{2**bits - 1 if kind == 0 else 1}" Unit="" LUTName={quoteattr(lut)} IsLUTInverted="0" '
            f'BytesInc="{i * x * y * b}" BitInc="0"><ChannelProperty><Key>DyeName</Key>'
            f"<Value>{dye}</Value></ChannelProperty></ChannelDescription>"
            for i, (dye, lut) in enumerate(image["channels"])
        )
        # DimID 1 x, 2 y, 3 z, 4 t; Length spans the first to the last pixel's centre.
        dims = [(1, x, image["pixel_size"] * (x - 1), "m", b), (2, y, image["pixel_size"] * (y - 1), "m", x * b)]
        if z > 1:
            dims.append((3, z, image["z_step"] * (z - 1), "m", x * y * b * c))
        if t > 1:
            dims.append((4, t, 10.0 * (t - 1), "s", x * y * b * c * z))
        dimensions = "".join(
            f'<DimensionDescription DimID="{d}" NumberOfElements="{n}" Origin="0" Length="{length}" Unit="{unit}" '
            f'BitInc="0" BytesInc="{inc}"/>'
            for d, n, length, unit, inc in dims
        )
        stamps = f'<TimeStampList NumberOfTimeStamps="1">{timestamp:x}</TimeStampList>' if timestamp else ""
        block = f"MemBlock_{k + 1}"
        payload = data.tobytes()
        blocks.append((block, payload))
        elements.append(
            f'<Element Name={quoteattr(image["name"])} Visibility="1" CopyOption="1" '
            f'UniqueID="6f3c2a10-0000-4000-8000-{k + 1:012d}"><Data><Image TextDescription="">'
            f"<ImageDescription><Channels>{channels}</Channels><Dimensions>{dimensions}</Dimensions>"
            f"</ImageDescription>{stamps}</Image></Data>"
            f'<Memory Size="{len(payload)}" MemoryBlockID="{block}"/><Children/></Element>'
        )
    xml = (
        '<LMSDataContainerHeader Version="2"><Element Name="project" Visibility="1" CopyOption="1" '
        'UniqueID="6f3c2a10-0000-4000-8000-000000000000"><Data><Experiment IsSavedFlag="1" Path="project.lif"/>'
        '</Data><Memory Size="0" MemoryBlockID="MemBlock_0"/>'
        f"<Children>{''.join(elements)}</Children></Element></LMSDataContainerHeader>"
    )
    text = xml.encode("utf-16-le")
    with open(path, "wb") as f:
        # Header block: 0x70, its size, 0x2A, the XML's length in characters, the XML in UTF-16.
        f.write(struct.pack("<IIBI", 0x70, len(text) + 5, 0x2A, len(xml)))
        f.write(text)
        for block, payload in blocks:
            # Memory block: 0x70, (unused), 0x2A, its size, 0x2A, its id's length, the id, the pixels.
            f.write(struct.pack("<IIBQBI", 0x70, 0, 0x2A, len(payload), 0x2A, len(block)))
            f.write(block.encode("utf-16-le"))
            f.write(payload)


def lif_project(path: Path) -> list[np.ndarray]:
    """Two images: a 2-time, 3-z, 2-channel uint16 stack with calibration, and a single uint8 plane."""
    stack = ramp((2, 3, 2, 40, 52), "uint16", 30)  # T Z C Y X as the file lays them out
    plane = ramp((1, 1, 1, 30, 24), "uint8", 31)
    filetime = 1_700_000_000 * 10**7 + 116_444_736_000_000_000  # 2023-11-14T22:13:20Z
    lif_file(
        path,
        [
            {
                "name": "stack",
                "data": stack,
                "pixel_size": 0.2e-6,
                "z_step": 0.5e-6,
                "channels": [("DAPI", "Blue"), ("GFP", "Green")],
            },
            {"name": "overview", "data": plane, "pixel_size": 1e-6, "z_step": 0, "channels": [("", "Gray")]},
        ],
        timestamp=filetime,
    )
    return [stack.transpose(0, 2, 1, 3, 4), plane.transpose(0, 2, 1, 3, 4)]


# -- Bio-Formats ----------------------------------------------------------------------------------------


def fake_file(folder: Path, stem: str = "fake", **fields: object) -> Path:
    """A file whose name tells Bio-Formats' fake reader what image to make up (its content is ignored).

    Its pixels are known: each row counts x from 0 (modulo the type's range), except that the first
    pixels of a plane encode its series, z, c and t.
    """
    name = "&".join([stem, *(f"{k}={v}" for k, v in fields.items())]) + ".fake"
    path = folder / name
    path.write_text("made up by Bio-Formats' fake reader from this file's name\n")
    return path


# -- the extra itself -------------------------------------------------------------------------------------

# `make test` sets this: there, a missing part of the formats extra fails the tests instead of skipping them.
REQUIRED_ENV = "SCOPEHUB_TEST_FORMATS"


def formats_module(name: str):  # type: ignore[no-untyped-def]
    """Import a library of the formats extra; skip (or fail, under `make test`) when it is not installed."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as exc:
        if os.environ.get(REQUIRED_ENV) == "required":
            raise
        pytest.skip(f"the formats extra is not installed ({exc})", allow_module_level=True)


def bioformats_or_skip() -> None:
    """Start the JVM with Bio-Formats in this process (once); skip (or fail, under `make test`) when it cannot."""
    from scopehub.server_extension.pixels.readers import jvm

    reason = jvm.missing()
    if reason:
        if os.environ.get(REQUIRED_ENV) == "required":
            pytest.fail(f"Bio-Formats cannot run: {reason}")
        pytest.skip(f"Bio-Formats cannot run here: {reason}")
    jvm.start()
