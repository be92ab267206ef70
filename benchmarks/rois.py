"""ROIs at scale: 10^5 shapes on one image, created in one request, then read by viewport and plane.

A real ``jupyter server`` with scopehub on a fresh embedded PostgreSQL (or ``--external``: Debian's
PostgreSQL reached by URL). One image of 20000 x 20000 pixels gets N cell outlines (12-point
polygons, one ROI each, as a segmentation gives) in one bulk ``POST B/images/{id}/rois``; other
images hold as many shapes again, so that the index must tell images apart. Then it times:

- viewport queries (``format=compact``) sized to return about 10^3 and 10^4 shapes, at random places;
- the whole plane (every shape, compact, one page), and the first page of the full format.

Each time is the client's round trip and the server's own ``Server-Timing`` (request in, reply
encoded); p50 and p95 over the repeats, with the reply's size. ``EXPLAIN (ANALYZE, BUFFERS)`` of the
compact query shows which indexes answer it.

    .venv/bin/python -m benchmarks.rois                  # 10^5 shapes, 30 repeats
    .venv/bin/python -m benchmarks.rois --shapes 20000 --repeats 10 --external
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa
from scopehub.server_extension.catalogue.permissions import load_caller
from scopehub.server_extension.catalogue.rois import COMPACT_WORK_MEM, RoiManager, ShapeQuery
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.jupyter import JupyterServerProcess  # noqa: E402
from tests.server_extension.pixels.stored_images import catalogue_engine  # noqa: E402

SIDE = 20_000  # the image, in pixels
CELL_RADIUS = 12.0


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def cell(rng: random.Random) -> dict[str, Any]:
    """A cell outline: a 12-point polygon of radius about 12 px somewhere on the image."""
    cx, cy = rng.uniform(0, SIDE), rng.uniform(0, SIDE)
    points = []
    for k in range(12):
        a = 2 * math.pi * k / 12
        r = CELL_RADIUS * rng.uniform(0.8, 1.2)
        points.append([round(cx + r * math.cos(a), 2), round(cy + r * math.sin(a), 2)])
    return {"type": "polygon", "points": points, "stroke_color": "00FF00FF"}


def pct(values: list[float], p: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def server_ms(r: requests.Response) -> float:
    return float(re.search(r"dur=([0-9.]+)", r.headers["Server-Timing"])[1])


class Bench:
    def __init__(self, base: str, token: str):
        self.base = base
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"token {token}"

    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        r = self.http.request(method, self.base + path, timeout=600, **kw)
        if r.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:500]}")
        return r

    def image(self, name: str) -> int:
        return self.call("POST", "images", json={"name": name}).json()["id"]

    def bulk(self, image_id: int, shapes: list[dict]) -> dict[str, Any]:
        body = {"rois": [{"name": f"cell {i}", "shapes": [s]} for i, s in enumerate(shapes)]}
        data = __import__("json").dumps(body).encode()
        t0 = time.perf_counter()
        r = self.call("POST", f"images/{image_id}/rois", data=data, headers={"Content-Type": "application/json"})
        wall = time.perf_counter() - t0
        assert r.json()["shape_count"] == len(shapes)
        return {"wall_s": wall, "server_s": server_ms(r) / 1000, "body_mb": len(data) / 1e6}

    def timed(self, path: str, params: dict[str, Any], repeats: int, vary=None) -> dict[str, Any]:
        walls, servers, sizes, counts = [], [], [], []
        for i in range(repeats):
            p = dict(params, **(vary(i) if vary else {}))
            t0 = time.perf_counter()
            r = self.call("GET", path, params=p)
            walls.append((time.perf_counter() - t0) * 1000)
            servers.append(server_ms(r))
            sizes.append(len(r.content))
            body = r.json()
            counts.append(len(body["shapes"]["id"]) if "shapes" in body else
                          sum(len(item["shapes"]) for item in body["items"]))
        return {"p50": pct(walls, 50), "p95": pct(walls, 95), "server_p50": pct(servers, 50),
                "server_p95": pct(servers, 95), "shapes": statistics.median(counts),
                "kb": statistics.median(sizes) / 1024}


def explain(engine: sa.Engine, image_id: int, query: ShapeQuery) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the compact reply's SQL, as the admin runs it."""
    with Session(engine) as session:
        admin = session.execute(sa.text("SELECT id FROM experimenters WHERE username = 'admin'")).scalar_one()
        caller = load_caller(session, admin)
        stmt = RoiManager().compact_statement(session, caller, image_id, query)
        sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
        session.execute(sa.text(f"SET LOCAL work_mem = '{COMPACT_WORK_MEM}'"))
        return list(session.execute(sa.text("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql)).scalars())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shapes", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--external", action="store_true", help="Debian's PostgreSQL over TCP, not the embedded one")
    args = parser.parse_args()
    rng = random.Random(1)
    with ExitStack() as stack:
        data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="scopehub-bench-rois-"))
        server_args = [f"--ScopehubApp.data_dir={data_dir}", "--ScopehubApp.standalone_username=admin"]
        database_url = None
        if args.external:
            from tests.postgres import external_postgres

            database_url = stack.enter_context(external_postgres()).url
            server_args.append(f"--ScopehubApp.database_url={database_url}")
        server = stack.enter_context(JupyterServerProcess(server_args))
        bench = Bench(server.url + "scopehub/api/v1/", server.token)
        catalogue = type("Catalogue", (), {"data_dir": data_dir, "database_url": database_url})()
        engine = catalogue_engine(catalogue)
        stack.callback(engine.dispose)

        # Neighbours first: the index must pick one image's shapes among others'.
        for k in range(2):
            neighbour = bench.image(f"neighbour {k}")
            bench.bulk(neighbour, [cell(rng) for _ in range(args.shapes // 2)])
        image = bench.image("20000 x 20000 slide")
        shapes = [cell(rng) for _ in range(args.shapes)]
        log(f"bulk POST of {args.shapes} shapes")
        created = bench.bulk(image, shapes)
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE shapes"))
            conn.execute(sa.text("ANALYZE rois"))

        density = args.shapes / SIDE**2
        results = {}
        path = f"images/{image}/rois"
        for target in (1_000, 10_000):
            side = math.sqrt(target / density)

            def vary(i: int, side: float = side) -> dict[str, str]:
                x, y = rng.uniform(0, SIDE - side), rng.uniform(0, SIDE - side)
                return {"viewport": f"{x:.0f},{y:.0f},{side:.0f},{side:.0f}"}

            log(f"viewport ~{target} shapes ({side:.0f} px square)")
            results[f"viewport ~{target:,} shapes ({side:.0f}² px), compact"] = bench.timed(
                path, {"format": "compact", "limit": 100_000}, args.repeats, vary)
        log("whole plane")
        results["whole plane (z=0, t=0), compact, one page"] = bench.timed(
            path, {"format": "compact", "z": 0, "t": 0, "limit": 100_000}, max(3, args.repeats // 5))
        results["first page of the full format (100 ROIs)"] = bench.timed(path, {}, args.repeats)
        side = math.sqrt(10_000 / density)
        plan = explain(engine, image, ShapeQuery(viewport=(5000, 5000, side, side), limit=100_000))

    print(f"## ROIs: {args.shapes:,} shapes on one image\n")
    print(f"Database: {'external PostgreSQL (Debian 15, TCP)' if args.external else 'embedded PostgreSQL'}; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end.\n")
    print(f"Bulk `POST B/images/{{id}}/rois` of {args.shapes:,} polygons (one ROI each), "
          f"{created['body_mb']:.1f} MB of JSON: **{created['wall_s']:.1f} s** round trip, "
          f"{created['server_s']:.1f} s in the server.\n")
    print("| query | shapes | reply | p50 ms | p95 ms | server p50 ms | server p95 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, t in results.items():
        print(f"| {label} | {t['shapes']:,.0f} | {t['kb']:,.0f} KiB | {t['p50']:.0f} | {t['p95']:.0f} | "
              f"{t['server_p50']:.0f} | {t['server_p95']:.0f} |")
    print("\nQuery plan of the ~10^4-shape viewport (compact):\n\n```")
    print("\n".join(plan))
    print("```")


if __name__ == "__main__":
    main()
