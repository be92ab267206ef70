"""What the formats extra costs: a CZI written from the same pixels as an OME-TIFF, imported both ways.

Times ``open_source`` + ``write_pyramid`` (the pixel work of an import, in-process, all cores) for a
4-channel uint16 image written as CZI (pylibCZIrw) and as a tiled OME-TIFF (tifffile), both
uncompressed and both zstd-compressed; then the JVM's cost: a fresh process starting it, and Bio-Formats'
first ``setId`` (which loads its ~150 readers). Medians of ``--repeat`` runs, files in the page cache.

    .venv/bin/python -m benchmarks.formats_import [--size 4096] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile

from benchmarks.render_micro import synthetic
from scopehub.server_extension.pixels.readers import open_source
from scopehub.server_extension.pixels.writer import write_pyramid


def write_czi(path: Path, data: np.ndarray, compression: str | None) -> None:
    from pylibCZIrw import czi as pyczi

    with pyczi.create_czi(str(path), exist_ok=True, compression_options=compression) as writer:
        for c in range(data.shape[1]):
            writer.write(data=data[0, c, 0], plane={"C": c, "Z": 0, "T": 0})
        writer.write_metadata(document_name=path.stem, scale_x=0.325e-6, scale_y=0.325e-6)


def write_tiff(path: Path, data: np.ndarray, compression: str | None) -> None:
    tifffile.imwrite(
        path,
        data[0, :, 0],
        ome=True,
        tile=(512, 512),
        compression=compression,
        photometric="minisblack",
        metadata={"axes": "CYX", "PhysicalSizeX": 0.325},
    )


def time_import(path: Path, work: Path, repeat: int) -> float:
    runs = []
    for k in range(repeat):
        dest = work / f"{path.stem}-{k}.ome.zarr"
        began = time.perf_counter()
        with open_source(path) as source:
            write_pyramid(source.images[0], dest)
        runs.append(time.perf_counter() - began)
        shutil.rmtree(dest)
    return statistics.median(runs)


JVM_SCRIPT = """
import time
began = time.perf_counter()
from scopehub.server_extension.pixels.readers import jvm
jvm.start()
started = time.perf_counter()
import jpype
reader = jpype.JClass("loci.formats.ImageReader")()
reader.setId({path!r})
reader.close()
print(round(jvm.start_seconds, 2), round(time.perf_counter() - started, 2), round(time.perf_counter() - began, 2))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; {args.size}² × 4 channels uint16")
    data = synthetic(args.size)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for label, czi_codec, tiff_codec in (("uncompressed", None, None), ("zstd", "zstd1:ExplicitLevel=1", "zstd")):
            czi, tif = work / f"{label}.czi", work / f"{label}.ome.tif"
            write_czi(czi, data, czi_codec)
            write_tiff(tif, data, tiff_codec)
            for path in (czi, tif):
                seconds = time_import(path, work, args.repeat)
                size = path.stat().st_size / 2**20
                print(f"{label:>12} {path.suffix:>5}: {seconds:6.2f} s  ({size:.0f} MiB file)")
        fake = work / "x&sizeX=512&sizeY=512.fake"
        fake.write_text("x")
        runs = [
            subprocess.run(
                [sys.executable, "-c", JVM_SCRIPT.format(path=str(fake))], capture_output=True, text=True, check=True
            ).stdout.split()
            for _ in range(args.repeat)
        ]
        start, first_open, total = (statistics.median(float(r[i]) for r in runs) for i in range(3))
        print(
            f"JVM start {start:.2f} s; Bio-Formats' first setId {first_open:.2f} s; "
            f"fresh process to first image {total:.2f} s"
        )


if __name__ == "__main__":
    main()
