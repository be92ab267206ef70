"""``scopehub demo-data``: sample images for a new catalogue, so that a new user sees data at once.

Real images come from wheels on the package index that ship them (stardist, mahotas,
scikit-image): ``pip download --no-deps`` fetches the wheel, the few image files are unzipped, and
both are cached under ``DATA_DIR/samples``. Without an index those samples are skipped with a
message. A 4-channel 8192² uint16 pyramidal OME-TIFF of a made-up tissue section (nuclei, cytoplasm,
puncta, membranes) is generated tile by tile. Everything is imported with the real import pipeline
into the project "Sample data", as the standalone Jupyter user, and a few tags and key-value maps
are added; stardist's masks become label images. It runs once: a marker file (which records the
version of the sample list), and the samples already present, make later runs no-ops; when the
list grows, a catalogue made from an older list gets what it lacks.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import argparse

    from .cli import Context
    from .database import Database

PROJECT = "Sample data"
MARKER = "imported"  # DATA_DIR/samples/imported: written once every sample is in
# Raised when SAMPLES changes, so that `make demo` on an older catalogue imports what it lacks.
# 2: stardist's mask2d.tif and mask3d.tif as label images (1 had mask2d.tif as an intensity image).
SAMPLES_VERSION = 2
TILE = 512
SLIDE_SIZE = 8192
CHANNELS = (("DAPI", 0x0000FFFF, 461.0), ("GFP", 0x00FF00FF, 509.0), ("mCherry", 0xFF0000FF, 610.0),
            ("Cy5", 0xFF00FFFF, 670.0))  # name, OME signed RGBA colour, emission nm


@dataclass
class Sample:
    """One image file to import: from a wheel (``wheel`` = pip requirement, ``member`` = path inside)."""

    file: str  # the local file name under DATA_DIR/samples/files
    dataset: str
    description: str
    wheel: str = ""
    member: str = ""
    tags: list[str] = field(default_factory=list)
    values: list[tuple[str, str]] = field(default_factory=list)
    label: bool = False  # a segmentation: imported as a label image


NUCLEI, HISTOLOGY, CELLS, GENERATED = "Nuclei (stardist)", "Histology", "Cells (mahotas, scikit-image)", \
    "Generated slide"
STARDIST, MAHOTAS, SKIMAGE = "stardist==0.9.1", "mahotas==1.4.19", "scikit-image==0.26.0"
SAMPLES = [
    Sample("img2d.tif", NUCLEI, "Fluorescent nuclei, 2-D (stardist's example image).", STARDIST,
           "stardist/data/images/img2d.tif", ["nuclei", "2D"], [("Source", "stardist 0.9.1 wheel"),
                                                                ("Stain", "DAPI")]),
    Sample("mask2d.tif", NUCLEI, "Label image: the segmented nuclei of img2d.tif.", STARDIST,
           "stardist/data/images/mask2d.tif", ["segmentation", "labels"], [("Segmented from", "img2d.tif")],
           label=True),
    Sample("img3d.tif", NUCLEI, "Fluorescent nuclei, a 3-D stack (stardist's example image).", STARDIST,
           "stardist/data/images/img3d.tif", ["nuclei", "3D"], [("Source", "stardist 0.9.1 wheel")]),
    Sample("mask3d.tif", NUCLEI, "Label image: the segmented nuclei of img3d.tif.", STARDIST,
           "stardist/data/images/mask3d.tif", ["segmentation", "labels", "3D"], [("Segmented from", "img3d.tif")],
           label=True),
    Sample("histo.jpg", HISTOLOGY, "H&E-stained tissue, RGB (stardist's example image).", STARDIST,
           "stardist/data/images/histo.jpg", ["H&E", "RGB"], [("Stain", "hematoxylin and eosin")]),
    Sample("ihc.png", HISTOLOGY, "Immunohistochemistry, RGB (scikit-image's sample).", SKIMAGE,
           "skimage/data/ihc.png", ["IHC", "RGB"], [("Source", "scikit-image 0.26.0 wheel")]),
    Sample("nuclear.png", CELLS, "Fluorescent nuclei (mahotas's demo image).", MAHOTAS,
           "mahotas/demos/data/nuclear.png", ["nuclei"], [("Source", "mahotas 1.4.19 wheel")]),
    Sample("cell.png", CELLS, "A cell, phase contrast (scikit-image's sample).", SKIMAGE, "skimage/data/cell.png"),
    Sample("generated-slide.ome.tif", GENERATED,
           "A made-up tissue section: 4 channels, 8192 × 8192, uint16, pyramidal OME-TIFF (generated).",
           tags=["generated", "pyramid", "multi-channel"],
           values=[("Channels", "DAPI, GFP, mCherry, Cy5"), ("Pixel size", "0.325 µm"), ("Objective", "20x/0.8")]),
]


# ---- fetching the real samples ------------------------------------------------------------------
def fetch_wheel_samples(folder: Path, samples: list[Sample] = SAMPLES, log=print) -> dict[str, Path]:
    """Download the wheels (cached in ``folder/wheels``) and unzip the samples into ``folder/files``.

    Returns the files found, by sample file name; a wheel pip cannot download is skipped with a message.
    """
    wheels, files = folder / "wheels", folder / "files"
    wheels.mkdir(parents=True, exist_ok=True)
    files.mkdir(parents=True, exist_ok=True)
    found: dict[str, Path] = {}
    for requirement in dict.fromkeys(s.wheel for s in samples if s.wheel):
        wanted = [s for s in samples if s.wheel == requirement]
        if all((files / s.file).exists() for s in wanted):
            found.update({s.file: files / s.file for s in wanted})
            continue
        wheel = _download(requirement, wheels, log)
        if wheel is None:
            continue
        with zipfile.ZipFile(wheel) as z:
            for s in wanted:
                try:
                    data = z.read(s.member)
                except KeyError:
                    log(f"  {wheel.name} has no {s.member}: skipping {s.file}")
                    continue
                tmp = files / (s.file + ".partial")
                tmp.write_bytes(data)
                os.replace(tmp, files / s.file)
                found[s.file] = files / s.file
    return found


def _download(requirement: str, wheels: Path, log) -> Path | None:
    name = requirement.split("==")[0].replace("-", "_").lower()
    version = requirement.split("==")[1]
    cached = sorted(wheels.glob(f"{name}-{version}-*.whl"))
    if cached:
        return cached[0]
    log(f"  downloading the {requirement} wheel (for its sample images)")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
               "--disable-pip-version-check", "-d", str(wheels), requirement]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        log(f"  cannot download {requirement} ({e}): skipping its samples")
        return None
    cached = sorted(wheels.glob(f"{name}-{version}-*.whl"))
    if result.returncode != 0 or not cached:
        why = (result.stderr.strip().splitlines() or ["no wheel"])[-1]
        log(f"  pip could not download {requirement} ({why}): skipping its samples")
        return None
    return cached[0]


# ---- the generated slide ------------------------------------------------------------------------
def _hash(*keys: np.ndarray | int) -> np.ndarray:
    """A 64-bit mix of integer keys (splitmix64's finaliser): deterministic random bits per grid cell."""
    h = np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        for k in keys:
            h = (h ^ np.asarray(k, np.uint64)) * np.uint64(0xBF58476D1CE4E5B9)
            h ^= h >> np.uint64(31)
            h *= np.uint64(0x94D049BB133111EB)
            h ^= h >> np.uint64(29)
    return h


def _uniform(h: np.ndarray, salt: int) -> np.ndarray:
    return (_hash(h, salt) >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _ellipse(size: int, rng: np.random.Generator, radius: float, kind: str) -> np.ndarray:
    """A stamp: a soft ellipse ("fill"), its rim ("ring"), or a few dots ("dots"), peak about 1."""
    yy, xx = np.mgrid[:size, :size].astype(np.float32) - (size - 1) / 2
    if kind == "dots":
        out = np.zeros((size, size), np.float32)
        for _ in range(rng.integers(3, 8)):
            cy, cx = rng.normal(0, radius / 2.5, 2)
            out += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 1.6**2))
        return np.minimum(out, 1.2)
    a, b = radius * rng.uniform(0.85, 1.25), radius * rng.uniform(0.7, 1.0)
    t = rng.uniform(0, math.pi)
    u, v = (xx * math.cos(t) + yy * math.sin(t)) / a, (-xx * math.sin(t) + yy * math.cos(t)) / b
    r = np.sqrt(u * u + v * v)
    if kind == "ring":
        return np.exp(-(((r - 1) / 0.12) ** 2)).astype(np.float32)
    texture = 1 + 0.12 * np.sin(xx * rng.uniform(0.3, 0.6) + rng.uniform(0, 6)) * np.sin(yy * rng.uniform(0.3, 0.6))
    return (texture / (1 + np.exp((r - 1) * 9))).astype(np.float32)


class SlidePainter:
    """Tissue made of cells on a jittered grid: a tile is painted from the cells that reach into it."""

    PITCH = 34  # px between cell centres (0.325 µm pixels: ~11 µm)
    MARGIN = 40  # stamps reach at most this far from a cell centre

    def __init__(self, size: int, seed: int = 7, variants: int = 12):
        rng = np.random.default_rng(seed)
        self.size = size
        self.seed = seed
        s = 2 * self.MARGIN
        self.nuclei = [_ellipse(s, rng, 11, "fill") for _ in range(variants)]
        self.cytoplasm = [_ellipse(s, rng, 22, "fill") for _ in range(variants)]
        self.membranes = [_ellipse(s, rng, 24, "ring") for _ in range(variants)]
        self.puncta = [_ellipse(s, rng, 18, "dots") for _ in range(variants)]
        self.noise = rng.normal(0, 1, (4, TILE + 64, TILE + 64)).astype(np.float32)
        self.lobes = rng.uniform(0, 2 * math.pi, 4)

    def density(self, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        """0..1: where the tissue is (a lobed section with a lumen), in slide pixels."""
        n = self.size
        dy, dx = (y - 0.5 * n) / n, (x - 0.5 * n) / n
        r, t = np.hypot(dy, dx), np.arctan2(dy, dx)
        edge = 0.42 * (1 + 0.12 * np.sin(3 * t + self.lobes[0]) + 0.07 * np.sin(5 * t + self.lobes[1]))
        lumen = np.hypot(dy - 0.08, dx + 0.1) - 0.07 * (1 + 0.3 * np.sin(4 * t + self.lobes[2]))
        return np.clip((edge - r) * 40, 0, 1) * np.clip(lumen * 40, 0, 1)

    def cells(self, y0: int, x0: int, h: int, w: int) -> dict[str, np.ndarray]:
        """The cells whose stamps reach into the region: centres and random properties."""
        p, mg = self.PITCH, self.MARGIN
        i = np.arange((y0 - mg) // p - 1, (y0 + h + mg) // p + 2)
        j = np.arange((x0 - mg) // p - 1, (x0 + w + mg) // p + 2)
        ii, jj = (a.ravel() for a in np.meshgrid(i, j, indexing="ij"))
        h64 = _hash(ii + (1 << 20), jj + (1 << 20), self.seed)
        cy = (ii + 0.5) * p + (_uniform(h64, 1) - 0.5) * p * 0.7
        cx = (jj + 0.5) * p + (_uniform(h64, 2) - 0.5) * p * 0.7
        keep = ((_uniform(h64, 3) < 0.92 * self.density(cy, cx)) & (cy > y0 - mg) & (cy < y0 + h + mg)
                & (cx > x0 - mg) & (cx < x0 + w + mg))
        n = self.size
        # Regions of cell types: slow waves across the slide, so the channels differ in where they are bright.
        gfp = np.sin(cy / n * 7 + 1) * np.cos(cx / n * 5) + _uniform(h64, 4) * 0.8 > 0.45
        red = _uniform(h64, 5) < 0.35 + 0.3 * np.sin(cx / n * 9)
        cy5 = np.hypot(cy / n - 0.62, cx / n - 0.6) + 0.06 * _uniform(h64, 6) < 0.18
        return {"y": cy[keep], "x": cx[keep], "h": h64[keep], "bright": 0.6 + 0.8 * _uniform(h64, 7)[keep],
                "gfp": gfp[keep], "red": red[keep], "cy5": cy5[keep]}

    def tile(self, c: int, y0: int, x0: int, h: int = TILE, w: int = TILE) -> np.ndarray:
        """Channel ``c`` of the region (y0, x0, h, w) at full resolution, uint16."""
        mg = self.MARGIN
        cells = self.cells(y0, x0, h, w)
        canvas = np.zeros((h + 4 * mg, w + 4 * mg), np.float32)  # origin at (y0 - 2 mg, x0 - 2 mg)
        stamps, which, peak, background, noise = {
            0: (self.nuclei, None, 5200, 180, 35),
            1: (self.cytoplasm, "gfp", 2600, 260, 45),
            2: (self.puncta, "red", 3800, 140, 30),
            3: (self.membranes, "cy5", 2200, 120, 25),
        }[c]
        chosen = np.ones(len(cells["y"]), bool) if which is None else cells[which]
        for cy, cx, hv, b in zip(cells["y"][chosen], cells["x"][chosen], cells["h"][chosen],
                                 cells["bright"][chosen], strict=True):
            top, left = int(cy) - y0 + mg, int(cx) - x0 + mg  # the stamp's top-left in canvas coordinates
            stamp = stamps[int(hv % np.uint64(len(stamps)))]
            canvas[top:top + 2 * mg, left:left + 2 * mg] += b * stamp
        region = canvas[2 * mg:2 * mg + h, 2 * mg:2 * mg + w]
        tissue = self.density(np.arange(y0, y0 + h, 8)[:, None] + 4.0, np.arange(x0, x0 + w, 8)[None, :] + 4.0)
        auto = np.repeat(np.repeat(tissue, 8, 0), 8, 1)[:h, :w] * background * 0.6  # tissue autofluorescence
        k = int(_hash(y0, x0, c) % np.uint64(64))
        grain = self.noise[c, k % 32:k % 32 + h, k // 2:k // 2 + w]
        out = background + auto + peak * region + noise * grain * np.sqrt(1 + region * 4)
        return np.clip(out, 0, 65535).astype(np.uint16)


def make_demo_slide(path: str | os.PathLike[str], size: int = SLIDE_SIZE, *, physical_size: float = 0.325,
                    workers: int | None = None) -> Path:
    """Write a 4-channel ``size``² uint16 pyramidal OME-TIFF (CYX, zstd, 512² tiles, SubIFD levels).

    Level 0 is painted tile by tile; level 1 is gathered from it by 2×2 means (a quarter of the
    image in memory: 128 MB at 8192²), and the smaller levels from level 1, so every level shows
    the same tissue.
    """
    import tifffile

    path = Path(path)
    painter = SlidePainter(size)
    sizes = [(size, size)]
    while sizes[-1][0] > TILE:
        sizes.append(((sizes[-1][0] + 1) // 2, (sizes[-1][1] + 1) // 2))
    half = np.zeros((4, *sizes[1]), np.uint16) if len(sizes) > 1 else None

    def paint(where: tuple[int, int, int]) -> np.ndarray:
        c, y0, x0 = where
        t = painter.tile(c, y0, x0, min(TILE, size - y0), min(TILE, size - x0))
        if half is not None:
            _halve_into(half[c], t, y0 // 2, x0 // 2)
        return t

    def level0() -> Iterator[np.ndarray]:
        # Painted on all cores in small batches (numpy lets go of the GIL), in the order tifffile wants.
        order = [(c, y0, x0) for c in range(4) for y0 in range(0, size, TILE) for x0 in range(0, size, TILE)]
        with ThreadPoolExecutor(workers or os.cpu_count()) as pool:
            for k in range(0, len(order), 32):
                yield from pool.map(paint, order[k:k + 32])

    def tiles(level: np.ndarray) -> Iterator[np.ndarray]:
        for c in range(level.shape[0]):
            for y0 in range(0, level.shape[1], TILE):
                for x0 in range(0, level.shape[2], TILE):
                    yield level[c, y0:y0 + TILE, x0:x0 + TILE]

    metadata = {
        "axes": "CYX", "Name": "Generated slide",
        "PhysicalSizeX": physical_size, "PhysicalSizeXUnit": "µm",
        "PhysicalSizeY": physical_size, "PhysicalSizeYUnit": "µm",
        "Channel": {"Name": [c[0] for c in CHANNELS], "Color": [c[1] for c in CHANNELS],
                    "EmissionWavelength": [c[2] for c in CHANNELS]},
    }
    options = {"tile": (TILE, TILE), "dtype": "uint16", "compression": "zstd", "compressionargs": {"level": 1},
               "photometric": "minisblack", "maxworkers": workers or os.cpu_count()}
    tmp = path.with_name(path.name + ".partial")
    with tifffile.TiffWriter(tmp, bigtiff=True, ome=True) as tif:
        tif.write(level0(), shape=(4, size, size), subifds=len(sizes) - 1, metadata=metadata, **options)
        level = half
        for k in range(1, len(sizes)):
            if k > 1:
                level = _halve(level)
            tif.write(tiles(level), shape=level.shape, subfiletype=1, metadata=None, **options)
    os.replace(tmp, path)
    return path


def _halve_into(out: np.ndarray, tile: np.ndarray, y: int, x: int) -> None:
    h, w = tile.shape[0] // 2 * 2, tile.shape[1] // 2 * 2
    block = tile[:h, :w].reshape(h // 2, 2, w // 2, 2).astype(np.uint32).sum(axis=(1, 3))
    out[y:y + h // 2, x:x + w // 2] = (block + 2) // 4


def _halve(level: np.ndarray) -> np.ndarray:
    c, h, w = level.shape
    out = np.zeros((c, (h + 1) // 2, (w + 1) // 2), np.uint16)
    for k in range(c):
        _halve_into(out[k], level[k], 0, 0)
    return out


# ---- importing ----------------------------------------------------------------------------------
def imported_samples(db: Database, owner_id: int) -> dict[str, dict[str, list[tuple[int, bool]]]]:
    """What the owner's project "Sample data" holds: dataset name -> image name -> [(image id, is_label)]."""
    import sqlalchemy as sa

    from .catalogue import models as m

    def query(session) -> dict[str, dict[str, list[tuple[int, bool]]]]:
        rows = session.execute(
            sa.select(m.Dataset.name, m.Image.name, m.Image.id, m.Image.is_label)
            .join(m.ProjectDatasetLink, m.ProjectDatasetLink.child_id == m.Dataset.id)
            .join(m.Project, m.Project.id == m.ProjectDatasetLink.parent_id)
            .join(m.DatasetImageLink, m.DatasetImageLink.parent_id == m.Dataset.id)
            .join(m.Image, m.Image.id == m.DatasetImageLink.child_id)
            .where(m.Project.name == PROJECT, m.Project.owner_id == owner_id)
            .order_by(m.Image.id)).all()
        found: dict[str, dict[str, list[tuple[int, bool]]]] = {}
        for dataset, image, image_id, is_label in rows:
            found.setdefault(dataset, {}).setdefault(image, []).append((image_id, bool(is_label)))
        return found

    return db.call(query)


def marker_is_current(marker: Path) -> bool:
    """The marker says every sample of this SAMPLES_VERSION is in (one written before versions: version 1)."""
    try:
        text = marker.read_text()
    except OSError:
        return False
    found = re.search(r"^samples version (\d+)", text, re.MULTILINE)
    return found is not None and int(found[1]) >= SAMPLES_VERSION


def import_samples(db: Database, engine: Any, store_dir: Path, username: str, files: dict[str, Path],
                   samples: list[Sample] = SAMPLES, log=print) -> list[int]:
    """Import the files given (by sample file name) into "Sample data", one dataset per sample's
    ``dataset``, skipping samples already there (an image of that name and kind); tag them. Returns the
    new image ids.

    A mask that an older sample list imported as an intensity image is imported again as a label
    image; the older image stays (it may carry the user's annotations), and the log says which it is.
    """
    from .catalogue.annotations import AnnotationManager
    from .catalogue.permissions import load_caller
    from .identity import StandaloneIdentity
    from .imports.jobs import create_locked
    from .imports.pipeline import ImportPipeline

    # The same admin and default group as JupyterLab's first start, so the samples are the Jupyter user's.
    user_id = StandaloneIdentity(db, username).user_id
    caller = db.call(load_caller, user_id)
    present = imported_samples(db, user_id)
    pipeline = ImportPipeline(db, store_dir, roots=None)
    (store_dir / "tmp").mkdir(parents=True, exist_ok=True)
    new_ids: list[int] = []
    for sample in samples:
        path = files.get(sample.file)
        if path is None:
            continue
        earlier = present.get(sample.dataset, {}).get(sample.file, [])
        if any(is_label == sample.label for _, is_label in earlier):
            log(f"  {sample.file}: already in {sample.dataset!r}, skipped")
            continue
        if earlier:
            ids = ", ".join(str(i) for i, _ in earlier)
            log(f"  {sample.file}: imported before as {'a label' if not sample.label else 'an intensity'} image "
                f"(image {ids}); importing it as {'a label' if sample.label else 'an intensity'} image now. "
                "The earlier one stays: delete it if you do not need it.")
        request = {"paths": [str(path)], "target": f"Project:{PROJECT}/Dataset:{sample.dataset}",
                   "description": sample.description, "label": sample.label}
        started = time.monotonic()
        with create_locked(engine, caller, request) as job_id:
            result = pipeline.run(job_id)
        if result["status"] != "done":
            raise RuntimeError(f"importing {path} failed: {result['error']}")
        log(f"  {sample.file}: imported as image {', '.join(map(str, result['images']))} into "
            f"{sample.dataset!r} ({time.monotonic() - started:.1f} s)")
        new_ids += result["images"]
        for image_id in result["images"]:
            for tag in sample.tags:
                db.call(AnnotationManager().create, caller, {"type": "tag", "value": tag, "on": [f"image:{image_id}"]})
            if sample.values:
                db.call(AnnotationManager().create, caller,
                        {"type": "map", "values": sample.values, "on": [f"image:{image_id}"]})
    return new_ids


# ---- the command --------------------------------------------------------------------------------
def add_demo_data_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``demo-data`` to the ``scopehub`` command line."""
    import argparse

    from .cli import SUB_EPILOG, _global_options

    text = f"import sample images into the project {PROJECT!r}, once (the first time it runs on a catalogue)"
    sub = commands.add_parser("demo-data", help=text, description=text[0].upper() + text[1:] + ".",
                              formatter_class=argparse.RawDescriptionHelpFormatter, epilog=SUB_EPILOG)
    _global_options(sub, defaults=False)
    sub.add_argument("--slide-size", type=int, default=SLIDE_SIZE, metavar="PIXELS",
                     help=f"side of the generated slide (default: {SLIDE_SIZE})")
    sub.add_argument("--no-download", action="store_true", help="skip the samples that come from wheels")
    sub.set_defaults(func=cmd_demo_data)
    return sub


def cmd_demo_data(ctx: Context) -> int:
    from .catalogue import schema
    from .cli import OK
    from .identity import StandaloneIdentity

    folder = ctx.data_dir / "samples"
    # The marker skips even starting the database; it is only trusted beside the embedded database it
    # describes. An external database is asked which sample datasets it already has.
    marker = folder / MARKER if not ctx.args.database_url else None
    if marker is not None and marker_is_current(marker):
        print(f"scopehub: sample data already imported ({marker} exists; remove it to import again)")
        return OK
    started = time.monotonic()
    folder.mkdir(parents=True, exist_ok=True)
    if not schema.status(ctx.engine).up_to_date:
        schema.upgrade(ctx.engine)
    print(f"scopehub: importing sample data into the project {PROJECT!r} (first start only)")
    files = {} if ctx.args.no_download else fetch_wheel_samples(folder)
    slide = folder / "files" / "generated-slide.ome.tif"
    present = imported_samples(ctx.db, StandaloneIdentity(ctx.db, ctx.args.operator).user_id)
    if slide.name in present.get(GENERATED, {}):
        slide = None
    elif not slide.exists():
        t = time.monotonic()
        slide.parent.mkdir(parents=True, exist_ok=True)
        make_demo_slide(slide, ctx.args.slide_size)
        print(f"  generated {slide.name} ({slide.stat().st_size / 2**20:.0f} MiB, {time.monotonic() - t:.1f} s)")
    if slide is not None:
        files["generated-slide.ome.tif"] = slide
    ids = import_samples(ctx.db, ctx.engine, ctx.store_dir, ctx.args.operator, files)
    if slide is not None:
        slide.unlink()  # the store holds a copy (the original file) and the pyramid; no need for a third
    if marker is not None:
        marker.write_text(f"samples version {SAMPLES_VERSION}: every sample is in "
                          f"({len(ids)} imported by the last run)\n")
    print(f"scopehub: {len(ids)} sample images imported in {time.monotonic() - started:.0f} s")
    return OK


__all__ = ["SAMPLES", "SAMPLES_VERSION", "SlidePainter", "add_demo_data_parser", "cmd_demo_data",
           "fetch_wheel_samples", "import_samples", "imported_samples", "make_demo_slide", "marker_is_current"]
