"""The Python client's pixel reads against zarr-python reading the same OME-Zarr over HTTP directly.

Starts a real ``jupyter server`` with scopehub in a fresh data folder, writes a synthetic 2-channel
uint16 image with ``dataset.create_image`` (timing the upload and the commit), then reads 4096²
regions of it, round after round, alternating:

- ``image.to_numpy(t=0, c=0, z=0, region=(x, y, 4096, 4096))``: the client;
- zarr-python on the same route, as a user would wire it by hand:
  ``zarr.open_group(B + "images/{id}/zarr", storage_options={"headers": ...})["0"][0, 0, 0, y:y+h, x:x+w]``;
- zarr-python on the stored files themselves (no HTTP, no authentication): the floor.

Each round reads a region no earlier round read (so no cache but the OS page cache helps), both
chunk-aligned and not. Both HTTP readers keep their group open across rounds, as one would in a
notebook; the first read (which opens the image) is timed on its own. Medians.

    .venv/bin/python -m benchmarks.client [--size 8192] [--rounds 12] [--write-docs]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks.md"
REGION = 4096


def synthetic(size: int, seed: int = 0) -> np.ndarray:
    """Two channels of blobs on a smooth background with noise: compresses like fluorescence."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    out = np.empty((1, 2, 1, size, size), np.uint16)
    for c in range(2):
        base = 300 + 200 * np.sin(xx * (7 + c)) * np.cos(yy * (5 + c))
        for _ in range(size // 128):
            cy, cx, r = rng.random(), rng.random(), rng.uniform(0.002, 0.01)
            base += 2500 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
        out[0, c, 0] = np.clip(rng.poisson(np.maximum(base, 0)), 0, 4095)
    return out


def regions(size: int, rounds: int) -> list[tuple[int, int]]:
    """(x, y) of distinct 4096² regions: aligned to chunks and not, never the same twice."""
    rng = np.random.default_rng(1)
    span = size - REGION
    out: list[tuple[int, int]] = []
    while len(out) < rounds:
        x, y = int(rng.integers(0, span + 1)), int(rng.integers(0, span + 1))
        if len(out) % 2 == 0:
            x, y = x // 512 * 512, y // 512 * 512
        if (x, y) not in out:
            out.append((x, y))
    return out


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} (1 min), {five:.1f} (5 min)"


def run(size: int, rounds: int) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    import zarr

    import scopehub
    from tests.jupyter import JupyterServerProcess

    result: dict[str, Any] = {"size": size, "rounds": rounds, "load_before": load(), "cpus": os.cpu_count(),
                              "python": platform.python_version(), "zarr": zarr.__version__}
    data = synthetic(size)
    with tempfile.TemporaryDirectory(prefix="scopehub-bench-client-") as data_dir, \
            JupyterServerProcess([f"--ScopehubApp.data_dir={data_dir}", "--ScopehubApp.standalone_username=admin"],
                                 startup_timeout=180) as server:
        hub = scopehub.connect(server.url, server.token)
        dataset = hub.create_dataset("benchmark", provenance=False)
        started = time.perf_counter()
        image = dataset.create_image(data, name="synthetic", progress=False)
        result["write_seconds"] = time.perf_counter() - started
        result["write_mb"] = data.nbytes / 2**20
        base = hub.url + f"images/{image.id}/zarr"
        headers = hub.http.headers
        stored = next((Path(data_dir) / "store" / "pixels").glob("*/*.ome.zarr"))  # the only image
        plan = regions(size, rounds + 1)

        def by_client(img: Any, x: int, y: int) -> np.ndarray:
            return img.to_numpy(t=0, c=0, z=0, region=(x, y, REGION, REGION))

        def by_zarr(group: Any, x: int, y: int) -> np.ndarray:
            return group["0"][0, 0, 0, y:y + REGION, x:x + REGION]

        # First reads: the opening of the image is part of them.
        x, y = plan[0]
        t0 = time.perf_counter()
        client_image = hub.image(image.id)
        first = by_client(client_image, x, y)
        result["client_first_ms"] = (time.perf_counter() - t0) * 1e3
        t0 = time.perf_counter()
        group = zarr.open_group(base, mode="r", storage_options={"headers": headers})
        again = by_zarr(group, x, y)
        result["zarr_first_ms"] = (time.perf_counter() - t0) * 1e3
        local = zarr.open_group(str(stored), mode="r")
        assert np.array_equal(first, again) and np.array_equal(first, data[0, 0, 0, y:y + REGION, x:x + REGION])
        times: dict[str, list[float]] = {"client": [], "zarr": [], "local": []}
        for k, (x, y) in enumerate(plan[1:]):
            order = [("client", lambda: by_client(client_image, x, y)), ("zarr", lambda: by_zarr(group, x, y)),
                     ("local", lambda: by_zarr(local, x, y))]
            if k % 2:
                order[0], order[1] = order[1], order[0]
            for name, fn in order:
                t0 = time.perf_counter()
                out = fn()
                times[name].append((time.perf_counter() - t0) * 1e3)
                assert out.shape == (REGION, REGION)
        for name, values in times.items():
            result[f"{name}_ms"] = statistics.median(values)
            result[f"{name}_all_ms"] = [round(v, 1) for v in values]
        result["ratio"] = result["zarr_ms"] / result["client_ms"]
        hub.close()
    result["load_after"] = load()
    return result


def report(r: dict[str, Any]) -> str:
    mb = REGION * REGION * 2 / 2**20
    rows = [
        "| read of a 4096² uint16 region (32 MiB) | median ms | MiB/s |",
        "|---|---|---|",
        f"| `image.to_numpy(t=0, c=0, z=0, region=...)` | {r['client_ms']:.0f} | {mb / r['client_ms'] * 1e3:.0f} |",
        f"| zarr-python over fsspec HTTP, same route and token | {r['zarr_ms']:.0f} | {mb / r['zarr_ms'] * 1e3:.0f} |",
        f"| zarr-python on the stored files (no HTTP; the floor) | {r['local_ms']:.0f} | "
        f"{mb / r['local_ms'] * 1e3:.0f} |",
        f"| first read, opening the image: client / zarr-python | {r['client_first_ms']:.0f} / "
        f"{r['zarr_first_ms']:.0f} | |",
    ]
    return (f"**to_numpy runs at {r['ratio']:.2f} of zarr-python's speed on the same route (target: at least "
            f"0.80).** Writing the {r['size']}² 2-channel image ({r['write_mb']:.0f} MiB) with `create_image` took "
            f"{r['write_seconds']:.1f} s, upload and pyramid ({r['write_mb'] / r['write_seconds']:.0f} MiB/s).\n\n"
            + "\n".join(rows))


def write_docs(r: dict[str, Any]) -> None:
    text = (f"Produced by\n\n```\n.venv/bin/python -m benchmarks.client --write-docs\n```\n\non a {r['cpus']}-core "
            f"machine, Python {r['python']}, zarr {r['zarr']}, {r['rounds']} rounds; load average {r['load_before']} "
            f"before, {r['load_after']} after. Both HTTP readers go to the same `jupyter server` (the client's "
            "connection and zarr-python's each keep their group open); every round reads a 4096² region no "
            "round read before, half of them chunk-aligned, alternating which reader goes first.\n\n" + report(r))
    docs = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    section = "## Python client\n\n" + text.rstrip() + "\n"
    m = re.search(r"^## Python client\n.*?(?=^## |\Z)", docs, flags=re.M | re.S)
    docs = docs[:m.start()] + section + ("\n" + docs[m.end():] if docs[m.end():] else "") if m \
        else docs.rstrip() + "\n\n" + section
    DOCS.write_text(docs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=8192, help="side of the image written and read (default 8192)")
    parser.add_argument("--rounds", type=int, default=12, help="timed reads per reader (default 12)")
    parser.add_argument("--write-docs", action="store_true", help="write the section into docs/benchmarks.md")
    args = parser.parse_args()
    if args.size < REGION + 512:
        parser.error(f"--size must be at least {REGION + 512}")
    result = run(args.size, args.rounds)
    print(json.dumps(result, indent=1))
    print(report(result))
    if args.write_docs:
        write_docs(result)


if __name__ == "__main__":
    main()
