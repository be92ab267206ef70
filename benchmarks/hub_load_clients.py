"""The load generators of ``benchmarks.hub_load``: browsing sessions (aiohttp) and a tile stream (wrk).

Browsing sessions are what a person in JupyterLab does: list projects, open one, list its datasets and
images, open an image (metadata, thumbnail), then look around it: a viewport of tiles at a time, the
browser asking for up to six at once, a pause, another viewport at another place or zoom. Each
session has its own user, token and server, and reads the ids it follows from the replies it gets.

The tile stream is wrk with a Lua script that cycles through a list of (token, path) lines: distinct
tiles, each request with the token of the user whose server (or the service) it goes to.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import secrets
import subprocess
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

TILE = 512
COLORS = ["FF0000", "00FF00", "0000FF", "FF00FF"]
WINDOWS = [[100 + 40 * c, 2600 + 1200 * (c % 3)] for c in range(4)]
BROWSER_CONNECTIONS = 6  # what a browser opens to one host over HTTP/1.1
VIEWPORT = (4, 3)  # tiles across and down: a 1920×1080 screen at one level


def channels(shift: int) -> str:
    """The 4-channel composite, its windows moved up by ``shift`` grey levels (a render nobody asked for yet)."""
    return ",".join(f"{c + 1}|{lo}:{hi + shift}${COLORS[c]}" for c, (lo, hi) in enumerate(WINDOWS))


def tile_path(image_id: int, level: int, x: int, y: int, shift: int) -> str:
    return f"images/{image_id}/render?tile={level},{x},{y}&c={channels(shift)}&q=0.9"


# ---- browsing sessions ----------------------------------------------------------------------------
@dataclass
class Recorder:
    """Latency (ms) and outcome of every request, by kind."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    examples: list[str] = field(default_factory=list)

    def error(self, kind: str, what: str) -> None:
        self.errors[kind] += 1
        if len(self.examples) < 10:
            self.examples.append(f"{kind}: {what}")


@dataclass
class Browser:
    """One person: their token and the API base through their own server."""

    user: str
    token: str
    api: str  # http://hub/user/NAME/scopehub/api/v1/
    rng: random.Random
    shifts: Iterator[int]
    think: tuple[float, float] = (0.1, 0.4)  # between steps of opening an image
    look: tuple[float, float] = (0.5, 1.5)  # looking at a viewport before moving on

    async def get(self, http: aiohttp.ClientSession, rec: Recorder, kind: str, path: str,
                  want: str = "application/json") -> Any:
        t0 = time.perf_counter()
        try:
            async with http.get(self.api + path, allow_redirects=False) as reply:
                body = await reply.read()
                status, media = reply.status, reply.headers.get("Content-Type", "")
        except (TimeoutError, aiohttp.ClientError) as exc:
            rec.latencies[kind].append((time.perf_counter() - t0) * 1e3)
            rec.error(kind, f"{self.user} {path[:80]}: {exc!r}")
            return None
        rec.latencies[kind].append((time.perf_counter() - t0) * 1e3)
        if not 200 <= status < 300 or not media.startswith(want) or not body:
            rec.error(kind, f"{self.user} {path[:80]}: {status} {media} {body[:200]!r}")
            return None
        return json.loads(body) if want == "application/json" else body

    async def pause(self, span: tuple[float, float]) -> None:
        await asyncio.sleep(self.rng.uniform(*span))

    async def run(self, deadline: float, rec: Recorder) -> int:
        """Sessions until ``deadline`` (the request under way then finishes); returns the sessions begun."""
        connector = aiohttp.TCPConnector(limit=BROWSER_CONNECTIONS)
        timeout = aiohttp.ClientTimeout(total=120)
        sessions = 0
        async with aiohttp.ClientSession(connector=connector, timeout=timeout,
                                         headers={"Authorization": f"token {self.token}"}) as http:
            while time.monotonic() < deadline:
                sessions += 1
                await self.session(http, rec, deadline)
        return sessions

    async def session(self, http: aiohttp.ClientSession, rec: Recorder, deadline: float) -> None:
        projects = await self.get(http, rec, "projects", "projects?limit=100")
        project = next((p for p in (projects or {}).get("items", []) if p["name"] == "Load"), None)
        if project is None:
            return await self.pause(self.look)
        await self.pause(self.think)
        datasets = await self.get(http, rec, "datasets", f"datasets?project={project['id']}&limit=100")
        dataset = next((d for d in (datasets or {}).get("items", []) if d["name"] == "Slides"), None)
        if dataset is None:
            return await self.pause(self.look)
        await self.pause(self.think)
        images = await self.get(http, rec, "images", f"images?dataset={dataset['id']}&limit=100")
        if not images or not images.get("items"):
            return await self.pause(self.look)
        image_id = self.rng.choice(images["items"])["id"]
        await self.pause(self.think)
        image = await self.get(http, rec, "image", f"images/{image_id}")
        if image is None or not image.get("pixels"):
            return await self.pause(self.look)
        await self.get(http, rec, "thumbnail", f"images/{image_id}/thumbnail?size=256", want="image/jpeg")
        levels = [(math.ceil(lv["size_x"] / TILE), math.ceil(lv["size_y"] / TILE)) for lv in image["pixels"]["levels"]]
        for _ in range(self.rng.randint(3, 6)):  # pan and zoom around the image
            if time.monotonic() >= deadline:
                return
            await self.pause(self.think)
            level = self.rng.randrange(min(4, len(levels)))  # the coarsest levels fit in a viewport anyway
            cols, rows = levels[level]
            x0 = self.rng.randrange(max(1, cols - VIEWPORT[0] + 1))
            y0 = self.rng.randrange(max(1, rows - VIEWPORT[1] + 1))
            shift = next(self.shifts)
            paths = [tile_path(image_id, level, x, y, shift)
                     for y in range(y0, min(rows, y0 + VIEWPORT[1])) for x in range(x0, min(cols, x0 + VIEWPORT[0]))]
            # The connector holds them to six at once, as a browser would.
            await asyncio.gather(*(self.get(http, rec, "tile", p, want="image/jpeg") for p in paths))
            await self.pause(self.look)


async def browse(browsers: list[Browser], seconds: float) -> tuple[Recorder, float, int]:
    """Every browser at once for ``seconds``; the recorder, the wall time until the last reply, sessions."""
    rec = Recorder()
    t0 = time.monotonic()
    sessions = await asyncio.gather(*(b.run(t0 + seconds, rec) for b in browsers))
    return rec, time.monotonic() - t0, sum(sessions)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


# ---- wrk: a stream of distinct tiles --------------------------------------------------------------
WRK_SCRIPT = """
local tokens, paths = {}, {}
local n = 0
for line in io.lines("%(lines)s") do
  local token, path = line:match("^(%%S+) (.*)$")
  n = n + 1; tokens[n] = "token " .. token; paths[n] = path
end
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  i = id
  stride = %(threads)d
end
function request()
  local k = (i %% n) + 1
  i = i + stride
  return wrk.format("GET", paths[k], {["Authorization"] = tokens[k]})
end
function done(summary, latency, requests)
  io.write(string.format("WRKJSON {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"p50_us\\": %%d, "
    .. "\\"p95_us\\": %%d, \\"p99_us\\": %%d, \\"max_us\\": %%d, \\"connect\\": %%d, \\"read\\": %%d, "
    .. "\\"write\\": %%d, \\"status\\": %%d, \\"timeout\\": %%d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout))
end
"""


def wrk(url: str, lines: list[tuple[str, str]], connections: int, seconds: float, work: Path) -> dict[str, Any]:
    """wrk on one thread with ``connections`` connections through (token, path) ``lines`` in turn.

    Returns req/s, latencies (ms), errors (socket errors and non-2xx answers) and wrk's own CPU seconds.
    """
    name = secrets.token_hex(4)
    (work / f"lines-{name}.txt").write_text("".join(f"{token} {path}\n" for token, path in lines))
    script = work / f"wrk-{name}.lua"
    script.write_text(WRK_SCRIPT % {"lines": work / f"lines-{name}.txt", "threads": 1})
    proc = subprocess.Popen(["wrk", "-t1", f"-c{connections}", f"-d{int(seconds)}s", "--timeout", "60s",
                             "-s", str(script), url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate()
    if proc.returncode != 0 or "WRKJSON" not in out:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {out[-2000:]} {err[-2000:]}")
    r = json.loads(out.split("WRKJSON", 1)[1].strip().splitlines()[0])
    seconds_run = r["duration_us"] / 1e6
    return {"requests": r["requests"], "seconds": seconds_run, "rps": r["requests"] / seconds_run,
            "p50_ms": r["p50_us"] / 1e3, "p95_ms": r["p95_us"] / 1e3, "p99_ms": r["p99_us"] / 1e3,
            "max_ms": r["max_us"] / 1e3,
            "errors": r["connect"] + r["read"] + r["write"] + r["status"] + r["timeout"],
            "error_detail": {k: r[k] for k in ("connect", "read", "write", "status", "timeout") if r[k]}}


def reaped_children_cpu() -> float:
    """CPU seconds of this process's children that have ended and been waited for (wrk, once it is done)."""
    usage = os.times()
    return usage.children_user + usage.children_system
