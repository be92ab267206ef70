"""Hub load (issue 5): many users at once, each through their own server; what forwarding costs.

    .venv/bin/python -m benchmarks.hub_load [--users 20] [--seconds 120] [--rounds 6] [--round-seconds 20]
        [--connections 8] [--size 8192] [--priority] [--write-docs]     # `make bench-hub`; needs root

A real JupyterHub (``scopehub.hub_extension.demo.HubDemo``: the hub, configurable-http-proxy, the
scopehub service, the embedded PostgreSQL) with users load01..load20 in one hub group, made
read-annotate by a hub admin through the API. load01 imports a generated 4-channel uint16 pyramidal
OME-TIFF; every user then starts their own Jupyter server through the hub's API, all at once.

A. Browsing: every user at once, each through their own server (``/user/NAME/scopehub/api/v1/`` with
   their own token, through the hub's proxy), for ``--seconds``: projects, datasets, images, the image,
   its thumbnail, then viewports of distinct tiles with pauses (``benchmarks/hub_load_clients.py``).
B. Forwarding: the same stream of distinct tiles from ``--connections`` connections (wrk), straight to
   the service (``/services/scopehub/api/v1/``, as a browser reaches it) and through the users'
   servers in turn, alternating in ``--rounds`` pairs, so that other load on the machine falls on both.

CPU seconds of each process (``/proc/PID/stat``) are read around every phase, so the report says
where the time went: the service, the users' servers, the proxy, the hub, PostgreSQL, the generator.
The results also go to ``~/.cache/scopehub-bench/hub-load-results.json``. Exits 1 if any request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import requests

from benchmarks.hub_load_clients import (
    Browser,
    browse,
    percentile,
    reaped_children_cpu,
    tile_path,
    wrk,
)

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## Hub under load"
DATA_DIR = Path.home() / ".cache" / "scopehub-bench"
RESULTS = DATA_DIR / "hub-load-results.json"
GROUP = "load"
ADMIN = "loadadmin"
PROJECT, DATASET = "Load", "Slides"
TICK = os.sysconf("SC_CLK_TCK")
KINDS = ("projects", "datasets", "images", "image", "thumbnail", "tile")
PARTS = ("service", "user servers", "proxy", "hub", "PostgreSQL", "load generator")
PRIORITY = -15  # --priority: the nice value of every process of the hub and of the load generators


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# ---- CPU accounting ---------------------------------------------------------------------------------
def _cpu(pid: int) -> tuple[float, float]:
    """(own CPU seconds, CPU seconds of its ended and reaped children) from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return (utime + stime) / TICK, (cutime + cstime) / TICK


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / TICK, sum(values) / TICK


@dataclass
class CpuMeter:
    """The processes of each part, and their CPU seconds between two readings."""

    parts: dict[str, tuple[list[int], bool]] = field(default_factory=dict)  # name -> (pids, with descendants)

    def read(self) -> dict[str, Any]:
        reading: dict[str, Any] = {"machine": _machine_busy(), "self": time.process_time(),
                                   "children": reaped_children_cpu()}
        for name, (roots, descendants) in self.parts.items():
            pids: dict[int, float] = {}
            for root in roots:
                try:
                    own, reaped = _cpu(root)
                    pids[root] = own + reaped
                    if descendants:
                        for child in psutil.Process(root).children(recursive=True):
                            pids[child.pid] = _cpu(child.pid)[0]
                except (OSError, psutil.Error):
                    continue  # ended meanwhile
            reading[name] = pids
        return reading

    def spent(self, before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
        """CPU seconds of each part between ``before`` and ``after`` (a process new since then counts whole)."""
        out = {name: sum(cpu - before[name].get(pid, 0.0) for pid, cpu in after[name].items())
               for name in self.parts}
        out["machine"] = after["machine"][0] - before["machine"][0]
        out["machine_capacity"] = after["machine"][1] - before["machine"][1]
        # The generator: this process (the aiohttp sessions) or wrk (a child, reaped when it finished).
        out["load generator"] = (after["self"] - before["self"]) + (after["children"] - before["children"])
        return out


def raise_priority(pids: list[int], nice: int) -> None:
    """Give processes priority over other work on a shared machine: every thread's nice value, and the
    nice value of each process's autogroup (the scheduler shares CPU between sessions before it looks
    at nice values, and the hub's processes each start their own session)."""
    for pid in pids:
        with contextlib.suppress(OSError):
            for tid in os.listdir(f"/proc/{pid}/task"):
                with contextlib.suppress(OSError):
                    os.setpriority(os.PRIO_PROCESS, int(tid), nice)
        with contextlib.suppress(OSError):
            Path(f"/proc/{pid}/autogroup").write_text(str(nice))


def all_pids(meter: CpuMeter) -> list[int]:
    pids = []
    for roots, descendants in meter.parts.values():
        for root in roots:
            pids.append(root)
            with contextlib.suppress(psutil.Error):
                pids += [child.pid for child in psutil.Process(root).children(recursive=True)] if descendants else []
    return pids


def meter_for(demo, users: list[str]) -> CpuMeter:
    servers = [p.pid for p in psutil.process_iter(["username", "cmdline"])
               if p.info["username"] in users and "jupyterhub-singleuser" in " ".join(p.info["cmdline"] or [])]
    if len(servers) != len(users):
        raise RuntimeError(f"found {len(servers)} user servers for {len(users)} users")
    postmaster = int((demo.workdir / "pgdata" / "postmaster.pid").read_text().split()[0])
    return CpuMeter({"service": ([demo.service_pid()], True), "user servers": (servers, True),
                     "proxy": ([demo.proxy_proc.pid], True), "hub": ([demo.proc.pid], False),
                     "PostgreSQL": ([postmaster], True)})


# ---- the hub ----------------------------------------------------------------------------------------
def make_hub(workdir: Path, users: list[str]):
    from scopehub.hub_extension.demo import HubDemo, free_port

    return HubDemo(workdir, port=free_port(), users={ADMIN: True, **{u: False for u in users}},
                   groups={GROUP: users}, levels={}, log_level="INFO",
                   # One root per option: HubDemo's own import_roots option passes a JSON list, which the
                   # service takes for a single path; its empty list stays in front, as a root "[]" that
                   # does not exist.
                   service_args=[f"--ScopehubApp.import_roots={workdir / 'samples'}"],
                   # Twenty servers starting at once on two busy cores take longer than the demo allows
                   # one, and so may the service (the hub gives up on it after 30 s by default).
                   extra_config="c.Spawner.http_timeout = 300\nc.Spawner.start_timeout = 600\n"
                                "for _service in c.JupyterHub.services:\n    _service['timeout'] = 300\n")


def start_hub(demo) -> tuple[float, float]:
    """Prepare and start the hub; (seconds preparing, seconds starting)."""
    t0 = time.monotonic()
    demo.prepare()  # system accounts, the embedded PostgreSQL, the config
    t1 = time.monotonic()
    demo.start(timeout=600)
    return t1 - t0, time.monotonic() - t1


def populate(demo, users: list[str], tokens: dict[str, str], tif: Path) -> dict[str, Any]:
    """The group's level (as the admin), the slide (imported by the first user), a project of each user's own."""
    from scopehub.hub_extension.demo_data import ServiceClient

    for user in users:  # first sight: each user and their hub group join the catalogue
        ServiceClient(demo.api_url, tokens[user]).call("GET", "me")
    admin = ServiceClient(demo.api_url, demo.token(ADMIN, note="hub load"))
    admin.set_group_level(GROUP, "read-annotate")
    owner = ServiceClient(demo.api_url, tokens[users[0]])
    t0 = time.monotonic()
    images = owner.import_paths([str(tif)], f"Project:{PROJECT}/Dataset:{DATASET}", timeout=1800)
    import_seconds = time.monotonic() - t0
    for user in users:  # so that listing projects returns more than one
        client = ServiceClient(demo.api_url, tokens[user])
        project = client.call("POST", "projects", json={"name": f"{user}'s notes"})
        client.call("POST", "datasets", json={"name": "scratch", "project_id": project["id"]})
    image = owner.call("GET", f"images/{images[0]}")
    return {"image_id": images[0], "image": image, "import_seconds": import_seconds}


def start_servers(demo, users: list[str], timeout: float = 900) -> float:
    """Ask the hub for every user's server at once; seconds until all are ready."""
    t0 = time.monotonic()
    for user in users:
        demo.hub_api("POST", f"users/{user}/server", ok=(201, 202))
    deadline = t0 + timeout
    while time.monotonic() < deadline:
        models = {u["name"]: u for u in demo.hub_api("GET", "users").json()}
        if all(((models[u].get("servers") or {}).get("") or {}).get("ready") for u in users):
            return time.monotonic() - t0
        time.sleep(0.25)
    raise RuntimeError(f"not every server was ready after {timeout:.0f} s\n{demo.log_tail()}")


def warm_up(demo, users: list[str], tokens: dict[str, str], population: dict[str, Any]) -> None:
    """Each user once through their server and once direct: tokens checked, connections open."""
    image_id, top = population["image_id"], len(population["image"]["pixels"]["levels"]) - 1
    for user in users:
        headers = {"Authorization": f"token {tokens[user]}"}
        for base in (f"{demo.url}user/{user}/scopehub/api/v1/", demo.api_url):
            for path in ("me", tile_path(image_id, top, 0, 0, 0)):
                r = requests.get(base + path, headers=headers, timeout=120)
                if r.status_code != 200:
                    raise RuntimeError(f"warm-up {base}{path}: {r.status_code} {r.text[:300]}")


# ---- phases -----------------------------------------------------------------------------------------
def phase_browse(demo, users: list[str], tokens: dict[str, str], meter: CpuMeter, seconds: float,
                 shifts: itertools.count) -> dict[str, Any]:
    browsers = [Browser(u, tokens[u], f"{demo.url}user/{u}/scopehub/api/v1/", random.Random(i), shifts)
                for i, u in enumerate(users)]
    before = meter.read()
    rec, wall, sessions = asyncio.run(browse(browsers, seconds))
    cpu = meter.spent(before, meter.read())
    kinds = {}
    for kind in (*KINDS, "all"):
        values = rec.latencies[kind] if kind != "all" else [v for k in KINDS for v in rec.latencies[k]]
        errors = rec.errors[kind] if kind != "all" else sum(rec.errors.values())
        kinds[kind] = {"count": len(values), "rps": len(values) / wall, "p50": percentile(values, 50),
                       "p95": percentile(values, 95), "p99": percentile(values, 99),
                       "max": max(values, default=float("nan")), "errors": errors}
    return {"wall": wall, "sessions": sessions, "kinds": kinds, "cpu": cpu, "examples": rec.examples}


def tile_lines(prefixes: list[tuple[str, str]], image: dict[str, Any], image_id: int, passes: int,
               shifts: itertools.count, rng: random.Random) -> list[tuple[str, str]]:
    """(token, path) lines: ``passes`` passes over every tile of every level in one shuffled order, a new
    window each pass, the requests dealt out over ``prefixes`` (token, URL prefix) in turn."""
    tiles = [(lv, x, y) for lv, level in enumerate(image["pixels"]["levels"])
             for y in range(-(-level["size_y"] // 512)) for x in range(-(-level["size_x"] // 512))]
    rng.shuffle(tiles)
    lines = []
    for _ in range(passes):
        shift = next(shifts)
        for lv, x, y in tiles:
            token, prefix = prefixes[len(lines) % len(prefixes)]
            lines.append((token, prefix + tile_path(image_id, lv, x, y, shift)))
    return lines


def phase_forwarding(demo, users: list[str], tokens: dict[str, str], meter: CpuMeter, population: dict[str, Any],
                     rounds: int, seconds: float, connections: int, shifts: itertools.count,
                     work: Path) -> dict[str, Any]:
    routes = {"direct": [(tokens[u], "/services/scopehub/api/v1/") for u in users],
              "forwarded": [(tokens[u], f"/user/{u}/scopehub/api/v1/") for u in users]}
    per_pass = sum(-(-lv["size_x"] // 512) * -(-lv["size_y"] // 512) for lv in population["image"]["pixels"]["levels"])
    passes = max(2, -(-int(seconds * 500) // per_pass))  # never runs out below 500 tiles a second
    url = demo.url.rstrip("/")

    def run(mode: str, secs: float) -> dict[str, Any]:
        lines = tile_lines(routes[mode], population["image"], population["image_id"], passes, shifts,
                           random.Random(len(runs)))
        before = meter.read()
        result = wrk(url, lines, connections, secs, work)
        result["cpu"] = meter.spent(before, meter.read())
        result["mode"] = mode
        return result

    runs: list[dict[str, Any]] = []
    log("forwarding: warm-up, 5 s each way")
    run("direct", 5)
    run("forwarded", 5)
    for r in range(rounds):
        for mode in (("direct", "forwarded") if r % 2 == 0 else ("forwarded", "direct")):
            result = run(mode, seconds)
            result["round"] = r + 1
            runs.append(result)
            log(f"forwarding: round {r + 1} {mode}: {result['rps']:.1f} req/s, p99 {result['p99_ms']:.0f} ms, "
                f"errors {result['errors']}")
    summary = {}
    for mode in ("direct", "forwarded"):
        mine = [x for x in runs if x["mode"] == mode]
        requests_ = sum(x["requests"] for x in mine)
        cpu = {k: sum(x["cpu"][k] for x in mine) for k in mine[0]["cpu"]}
        summary[mode] = {"requests": requests_, "seconds": sum(x["seconds"] for x in mine),
                         "rps": requests_ / sum(x["seconds"] for x in mine),
                         "p50": statistics.median(x["p50_ms"] for x in mine),
                         "p99": statistics.median(x["p99_ms"] for x in mine),
                         "p99_max": max(x["p99_ms"] for x in mine), "max": max(x["max_ms"] for x in mine),
                         "errors": sum(x["errors"] for x in mine), "cpu": cpu}
    pairs = [next(x for x in runs if x["round"] == r and x["mode"] == "forwarded")["rps"]
             / next(x for x in runs if x["round"] == r and x["mode"] == "direct")["rps"] for r in range(1, rounds + 1)]
    return {"runs": runs, "summary": summary, "ratio": summary["forwarded"]["rps"] / summary["direct"]["rps"],
            "round_ratios": pairs, "connections": connections, "seconds": seconds, "rounds": rounds}


# ---- the run ----------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> dict[str, Any]:
    if os.geteuid() != 0:
        raise SystemExit("hub_load: each user's server runs as its own system account, which needs root")
    if not shutil.which("wrk"):
        raise SystemExit("hub_load: wrk is missing (apt-get install wrk)")
    from benchmarks.pixels import ensure_tiff

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    tif = ensure_tiff(DATA_DIR, args.size)
    users = [f"load{i:02d}" for i in range(1, args.users + 1)]
    # Not under /root or a 0700 folder: the embedded PostgreSQL's own account must pass through it.
    workdir = Path(tempfile.mkdtemp(prefix="scopehub-hubload-"))
    shifts = itertools.count(1)  # every window used once in the whole run: no rendered tile comes from cache
    result: dict[str, Any] = {"users": len(users), "size": args.size, "file_mb": tif.stat().st_size / 2**20,
                              "started": datetime.now(UTC), "load_before": os.getloadavg()[0]}
    demo = None
    try:
        log(f"hub: starting in {workdir}")
        demo = make_hub(workdir, users)
        result["prepare_seconds"], result["hub_start_seconds"] = start_hub(demo)
        # Into the service's import root (a hard link when on the same file system).
        (workdir / "samples").mkdir()
        try:
            os.link(tif, workdir / "samples" / tif.name)
        except OSError:
            shutil.copyfile(tif, workdir / "samples" / tif.name)
        tif = workdir / "samples" / tif.name
        tokens = {u: demo.token(u, note="hub load") for u in users}
        log(f"hub: prepared in {result['prepare_seconds']:.1f} s, up in {result['hub_start_seconds']:.1f} s; "
            f"importing {tif.name}")
        population = populate(demo, users, tokens, tif)
        result.update(image_id=population["image_id"], import_seconds=population["import_seconds"])
        log(f"hub: imported in {population['import_seconds']:.1f} s; starting {len(users)} servers at once")
        result["servers_seconds"] = start_servers(demo, users)
        log(f"hub: {len(users)} servers ready in {result['servers_seconds']:.1f} s")
        warm_up(demo, users, tokens, population)
        meter = meter_for(demo, users)
        if args.priority:
            raise_priority([*all_pids(meter), os.getpid()], PRIORITY)
        result["priority"] = args.priority
        result["server_rss_mb"] = statistics.median(
            psutil.Process(pid).memory_info().rss / 2**20 for pid in meter.parts["user servers"][0])
        log(f"browsing: {len(users)} users for {args.seconds:.0f} s")
        result["browse"] = phase_browse(demo, users, tokens, meter, args.seconds, shifts)
        log(f"browsing: {result['browse']['kinds']['all']['count']} requests, "
            f"{result['browse']['kinds']['all']['errors']} errors")
        result["forwarding"] = phase_forwarding(demo, users, tokens, meter, population, args.rounds,
                                                args.round_seconds, args.connections, shifts, workdir)
        result["load_after"] = os.getloadavg()[0]
        result["minutes"] = (datetime.now(UTC) - result["started"]).total_seconds() / 60
        result["args"] = {k: getattr(args, k) for k in ("users", "seconds", "rounds", "round_seconds", "connections",
                                                        "size", "priority")}
        RESULTS.write_text(json.dumps(result, default=str, indent=1))
    finally:
        if demo is not None:
            demo.stop()
            shutil.copy(demo.log_path, Path(tempfile.gettempdir()) / "scopehub-hub-load.log")
        shutil.rmtree(workdir, ignore_errors=True)
    return result


# ---- the report -------------------------------------------------------------------------------------
def _ms(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def cpu_table(columns: list[tuple[str, dict[str, float], int, float]]) -> str:
    """CPU ms per request of each part; ``columns``: (title, CPU seconds by part, requests, wall seconds)."""
    head = "| CPU ms per request | " + " | ".join(title for title, *_ in columns) + " |"
    rows = [head, "|---|" + "---:|" * len(columns)]
    for part in PARTS:
        rows.append(f"| {part} | " + " | ".join(f"{cpu[part] / n * 1e3:.2f}" for _, cpu, n, _ in columns) + " |")
    rows.append("| **all of these** | " + " | ".join(
        f"**{sum(cpu[p] for p in PARTS) / n * 1e3:.2f}**" for _, cpu, n, _ in columns) + " |")
    rows.append("| whole machine, busy cores (of 2) | " + " | ".join(
        f"{cpu['machine'] / wall:.2f}" for _, cpu, _, wall in columns) + " |")
    rows.append("| these processes, busy cores | " + " | ".join(
        f"{sum(cpu[p] for p in PARTS) / wall:.2f}" for _, cpu, _, wall in columns) + " |")
    return "\n".join(rows)


def section(r: dict[str, Any], command: str) -> str:
    b, f = r["browse"], r["forwarding"]
    kinds = b["kinds"]
    browse_rows = "\n".join(
        f"| {'**all**' if k == 'all' else k} | {kinds[k]['count']:,} | {kinds[k]['rps']:.1f} | "
        f"{_ms(kinds[k]['p50'])} | "
        f"{_ms(kinds[k]['p95'])} | {_ms(kinds[k]['p99'])} | {_ms(kinds[k]['max'])} | {kinds[k]['errors']} |"
        for k in (*KINDS, "all"))
    round_rows = "\n".join(
        f"| {x['round']} | {x['mode']} | {x['requests']:,} | {x['rps']:.1f} | {_ms(x['p50_ms'])} | "
        f"{_ms(x['p99_ms'])} | "
        f"{x['errors']} |" for x in f["runs"])
    d, w = f["summary"]["direct"], f["summary"]["forwarded"]
    cpu_d = sum(d["cpu"][p] for p in PARTS) / d["requests"] * 1e3  # ms
    cpu_w = sum(w["cpu"][p] for p in PARTS) / w["requests"] * 1e3
    share_d = sum(d["cpu"][p] for p in PARTS) / d["seconds"]
    share_w = sum(w["cpu"][p] for p in PARTS) / w["seconds"]
    cpu_met = "meets" if cpu_d / cpu_w >= 0.90 else "**misses**"
    svc_d, svc_w = (x["cpu"]["service"] / x["requests"] * 1e3 for x in (d, w))
    gen_core = b["cpu"]["load generator"] / b["wall"]
    wrk_core = (d["cpu"]["load generator"] + w["cpu"]["load generator"]) / (d["seconds"] + w["seconds"])
    met = "meets" if f["ratio"] >= 0.90 else "**misses**"
    errors = kinds["all"]["errors"] + d["errors"] + w["errors"]
    cpu = cpu_table([("A: browsing (through the servers)", b["cpu"], kinds["all"]["count"], b["wall"]),
                     ("B: tiles direct", d["cpu"], d["requests"], d["seconds"]),
                     ("B: tiles forwarded", w["cpu"], w["requests"], w["seconds"])])
    priority = ("\nThis run used `--priority`: the hub's processes (the hub, its proxy, the service, PostgreSQL, the "
                f"users' servers) and the load generators ran at nice {PRIORITY} and autogroup nice {PRIORITY}, "
                "so that "
                "other work on the machine took less of it." if r["priority"] else "")
    examples = ("\n\nErrors seen (first ten):\n\n" + "\n".join(f"- `{e}`" for e in b["examples"])
                if b["examples"] else "")
    ratios = f["round_ratios"]
    per_round = f"{statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f})"
    gen_ms = b["cpu"]["load generator"] / kinds["all"]["count"] * 1e3
    return f"""{SECTION}

Produced by

```
{command}
```

on a {os.cpu_count()}-core {platform.machine()} machine, Python {platform.python_version()},
{r['started']:%Y-%m-%d %H:%M} UTC,
{r['minutes']:.1f} minutes in all. The machine's 1-minute load average before → after was
{r['load_before']:.1f} → {r['load_after']:.1f} (other work shared it; the "whole machine" rows below say how
much).{priority}

**{r['users']} users browsed at once, each through their own server, for {b['wall']:.0f} s:
{kinds['all']['count']:,} requests, {kinds['all']['errors']} errors, p99 {_ms(kinds['all']['p99'])} ms
(tiles {_ms(kinds['tile']['p99'])} ms). Forwarding through
the users' servers kept {f['ratio']:.2f} of the direct tile throughput (target 0.90: it {met} it); counted in CPU
per request, which depends far less on how much of the machine other work left, forwarded costs
{cpu_w:.1f} ms against {cpu_d:.1f} ms direct, a ratio of {cpu_d / cpu_w:.2f} (it {cpu_met} the target too).**
Errors in the whole run, both phases: {errors}.

**The hub.** JupyterHub with the scopehub service, configurable-http-proxy and the embedded PostgreSQL
(`scopehub.hub_extension.demo.HubDemo`), started in {r['hub_start_seconds']:.0f} s
(after {r['prepare_seconds']:.0f} s making the system
accounts and starting PostgreSQL). {r['users']} users, `load01` to
`load{r['users']:02d}`, in one hub group that a hub admin made read-annotate through the API. `load01` imported a
generated {r['size']}² 4-channel uint16 pyramidal OME-TIFF ({r['file_mb']:.0f} MB, zlib, 512² tiles) by path, in
{r['import_seconds']:.0f} s; every user made a project of their own too. The {r['users']} servers, asked for all at
once through the hub's API (`POST /hub/api/users/NAME/server`), were all ready {r['servers_seconds']:.0f} s later,
each a JupyterLab server under its user's own system account (median RSS {r['server_rss_mb']:.0f} MB).

### A. Browsing, every user at once, each through their own server

Each user runs browsing sessions one after another for {b['wall']:.0f} s through `/user/NAME/scopehub/api/v1/`
with their own token, through the hub's proxy: list projects, find the project "{PROJECT}", list its datasets,
list the images of "{DATASET}", read the image, get its 256 thumbnail, then 3–6 viewports of up to 4 × 3
512² tiles (a level from full resolution to 1/8, a random place), asked six at a time as a browser does,
JPEG with 4 channels composited; each viewport has windows no request used before, so no tile comes from
the service's rendered-tile cache. Pauses: 0.1–0.4 s between steps, 0.5–1.5 s looking at each viewport.
{b['sessions']} sessions. Latency is from the request to the last byte of the reply, in ms; an error is any
non-2xx answer, a reply of the wrong type, a connection error or a time-out (120 s).

| request | count | req/s | p50 | p95 | p99 | max | errors |
|---|---:|---:|---:|---:|---:|---:|---:|
{browse_rows}
{examples}

The sessions run in one Python process (aiohttp, one connection pool per user, six connections each); it
used {gen_core:.2f} of a core ({gen_ms:.2f} ms CPU per request), so it was
not what limited the rate: the two cores were. Twenty people looking around this quickly ask for more
tiles than two cores render ({kinds['tile']['rps']:.0f} tiles/s here, about what phase B's saturated runs reach), so
requests queue, and the latencies above are mostly that queue: a viewport of twelve tiles at six at a
time waits for the tiles of every other viewer asked for just before.

### B. Forwarding: the same tiles direct and through the users' servers

`wrk` with {f['connections']} connections (one thread) asks for distinct tiles, every tile of every level of the image
in one shuffled order, a new window each pass, each request with a user's token, the users taken in turn:
**direct** to the service at `/services/scopehub/api/v1/` through the hub's proxy (as a browser reaches
it), or **forwarded** through `/user/NAME/scopehub/api/v1/`, the next request through the next user's
server. {f['connections']} connections keep both cores busy. The two take turns, {f['rounds']} rounds of
{f['seconds']:.0f} s each (and 5 s
of each first, not counted), the order swapped every round, so that other load on the machine falls on both.

| round | route | requests | req/s | p50 ms | p99 ms | errors |
|---|---|---:|---:|---:|---:|---:|
{round_rows}

| | direct | forwarded | forwarded / direct |
|---|---:|---:|---:|
| tiles/s, all rounds | {d['rps']:.1f} | {w['rps']:.1f} | **{f['ratio']:.2f}** |
| per-round ratios (median, min–max) | | | {per_round} |
| p50 / p99 ms (median of rounds) | {_ms(d['p50'])} / {_ms(d['p99'])} | {_ms(w['p50'])} / {_ms(w['p99'])} | |
| errors (requests) | {d['errors']} ({d['requests']:,}) | {w['errors']} ({w['requests']:,}) | |
| CPU ms per request, all processes below | {cpu_d:.1f} | {cpu_w:.1f} | **{cpu_d / cpu_w:.2f}** (direct / forwarded) |
| cores these processes got | {share_d:.2f} | {share_w:.2f} | |

wrk itself used {wrk_core:.2f} of a core. On a shared machine the throughput ratio also depends on how much
of the two cores the hub's processes got on each route ({share_d:.2f} cores direct, {share_w:.2f} forwarded: through the
users' servers more processes ask for them against the other work); the CPU ratio does not. With the
machine to itself, each route would have both cores, and the throughput ratio would be the CPU ratio.

### Where the CPU goes

CPU seconds of each part (`/proc/PID/stat`, user + system, with their child processes: the service's
import workers, PostgreSQL's backends) over each phase, per request answered:

{cpu}

Everything runs on the same two cores, so a request's CPU anywhere is CPU the service does not get: on a
saturated machine of its own, the forwarded throughput would be the direct one times the ratio of CPU per
request, all of these direct over all of these forwarded. Both routes pass the hub's proxy once (a user server
reaches the service at its own port, not through the proxy); the user servers' share is what forwarding
costs. Most of it is what any request to a Jupyter server costs there (tornado, jupyter_server's handler,
the hub's token check); the rest is the request to the service (aiohttp, over keep-alive connections) and
copying the reply. The service itself spent {svc_w:.1f} ms per forwarded tile against {svc_d:.1f} ms per direct one; a
forwarded request reaches it over a user server's long-lived connection rather than through the proxy,
which may account for some of that (it was not traced further). CPU time is itself inflated when
other work contends for the cores (caches, and
the hypervisor's steal), so compare the columns of one run rather than runs of different days.
"""


def update_doc(text_section: str) -> None:
    """Replace this benchmark's section of docs/benchmarks.md (or add it at the end)."""
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    start = text.find(SECTION + "\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + text_section.rstrip("\n") + "\n"
    else:
        end, in_code, pos = len(text), False, start + len(SECTION) + 1
        for line in text[pos:].splitlines(keepends=True):
            if line.startswith("```"):
                in_code = not in_code
            elif not in_code and line.startswith("## "):
                end = pos
                break
            pos += len(line)
        rest = text[end:]
        text = text[:start] + text_section.rstrip("\n") + "\n" + ("\n" + rest if rest else "")
    DOC.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=120, help="length of the browsing phase (default 120)")
    parser.add_argument("--rounds", type=int, default=6, help="direct/forwarded pairs in phase B (default 6)")
    parser.add_argument("--round-seconds", type=float, default=20, help="length of each run in phase B (default 20)")
    parser.add_argument("--connections", type=int, default=8, help="wrk's connections in phase B (default 8)")
    parser.add_argument("--size", type=int, default=8192, help="side of the generated image (default 8192)")
    parser.add_argument("--priority", action="store_true",
                        help=f"run the hub's processes and the load generators at nice {PRIORITY} (and autogroup nice "
                             f"{PRIORITY}), so that other work on a shared machine takes less of the two cores")
    parser.add_argument("--write-docs", action="store_true", help=f"write the '{SECTION}' section of {DOC}")
    parser.add_argument("--report-only", action="store_true",
                        help=f"measure nothing: write the section again from the last run's {RESULTS.name}")
    args = parser.parse_args(argv)
    if args.report_only:
        result = json.loads(RESULTS.read_text())
        result["started"] = datetime.fromisoformat(result["started"])
        args = argparse.Namespace(**{**vars(args), **result["args"]})
    else:
        result = run(args)
    defaults = {"users": 20, "seconds": 120, "rounds": 6, "round_seconds": 20, "connections": 8, "size": 8192}
    options = "".join(f" --{k.replace('_', '-')} {getattr(args, k):g}" for k, v in defaults.items()
                      if getattr(args, k) != v) + (" --priority" if args.priority else "")
    text = section(result, f".venv/bin/python -m benchmarks.hub_load{options} --write-docs")
    print(text)
    if args.write_docs:
        update_doc(text)
    errors = (result["browse"]["kinds"]["all"]["errors"] + result["forwarding"]["summary"]["direct"]["errors"]
              + result["forwarding"]["summary"]["forwarded"]["errors"])
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
