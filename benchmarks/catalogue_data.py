"""The generated catalogue for the scale benchmark: its shape, and how it is bulk loaded.

N images, 100 per dataset, 10 datasets per project, owned by 50 users in 10 groups of mixed
permission levels, with 2N annotations: tags shared by many images, one key-value map per image
(skewed gene values), comments and ratings. Everything is deterministic (hash-based, not random()).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

# ---- the shape of the catalogue -------------------------------------------------------------
N_GROUPS = 10
N_USERS = 50
IMAGES_PER_DATASET = 100
DATASETS_PER_PROJECT = 10
TAGS_PER_GROUP = 100
N_GENES = 20_000
LEVELS = ("private", "read-only", "read-annotate", "read-write")
MAP_NAMESPACE = "openmicroscopy.org/omero/client/mapAnnotation"
# Real symbols for the most frequent genes; the long tail gets generated names.
GENES = """ACTB GAPDH TUBB CDK1 MKI67 TP53 PCNA CCNB1 AURKA AURKB PLK1 KIF11 BUB1 MAD2L1 CDC20 ESPL1 NUF2 NDC80
CENPE KIF2C TOP2A RRM2 H2AX LMNB1 EMD SUN1 SYNE1 VIM KRT18 CDH1 CTNNB1 EGFR MYC KRAS PTEN RB1 CDKN1A
MDM2 BRCA1 BRCA2 ATM ATR CHEK1 CHEK2 WEE1 CDC25A CCNE1 CCNA2 E2F1 FOXM1""".split()  # noqa: SIM905
TAG_WORDS = """mitosis apoptosis interphase metaphase anaphase telophase prophase cytokinesis senescence
multinucleated out-of-focus saturated bleached debris confluent sparse control positive negative
reimage segmented curated qc-pass qc-fail bright dim blurred tiled stitched drift z-stack timelapse
fixed live dapi gfp mcherry cy5 brightfield phase dic widefield confocal spinning-disk lightsheet
sted storm palm airyscan deconvolved raw processed training validation test nucleus cytoplasm
membrane mitochondria golgi er lysosome actin microtubule centrosome spindle chromatin nucleolus
cilia focal-adhesion junction vesicle autophagy stress-granule p-body speckle cajal pml
lipid-droplet peroxisome endosome exosome migration invasion spheroid organoid tissue section embryo
zebrafish drosophila worm yeast plant bacteria cell-cycle nuclear-envelope kinetochore midbody
polarity""".split()  # noqa: SIM905


@dataclass(frozen=True)
class Shape:
    """How many of each thing a catalogue of ``images`` images holds."""

    images: int

    @property
    def datasets(self) -> int:
        return self.images // IMAGES_PER_DATASET

    @property
    def projects(self) -> int:
        return max(self.datasets // DATASETS_PER_PROJECT, N_GROUPS)

    @property
    def tags(self) -> int:
        return N_GROUPS * TAGS_PER_GROUP

    @property
    def annotations(self) -> int:
        # tags + one map per image + a comment on every other image + ratings to make 2N.
        return 2 * self.images


# Group levels: mixed, two of each at least; group ids are 1..10.
GROUP_LEVELS = [LEVELS[g % len(LEVELS)] for g in range(N_GROUPS)]


def memberships() -> dict[int, dict[int, str]]:
    """user id -> {group id: role}. Each user is in 1-3 groups; user k (k <= 10) owns group k."""
    roles: dict[int, dict[int, str]] = {}
    for u in range(N_USERS):
        groups = [u % N_GROUPS]
        if u % 3 != 0:
            groups.append((3 * u + 1) % N_GROUPS)
        if u % 3 == 2:
            groups.append((7 * u + 3) % N_GROUPS)
        roles[u + 1] = {g + 1: ("owner" if u == g else "member") for g in dict.fromkeys(groups)}
    return roles


def benchmark_member(roles: dict[int, dict[int, str]]) -> int:
    """A plain member of exactly two groups, one private and one not: partial visibility."""
    for uid, mine in sorted(roles.items(), reverse=True):
        levels = [GROUP_LEVELS[g - 1] for g in mine]
        if len(mine) == 2 and "owner" not in mine.values() and levels.count("private") == 1:
            return uid
    raise RuntimeError("no member with partial visibility in the generated memberships")


# ---- loading ----------------------------------------------------------------------------------
def rnd(expr: str, salt: int) -> str:
    """SQL for a deterministic pseudo-random number in [0, 1) from an integer expression."""
    return f"((hashint8extended(({expr})::bigint, {salt}) & 281474976710655)::float8 / 281474976710656)"


def _copy(cur, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


@dataclass
class LoadReport:
    seconds: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    database_bytes: int = 0

    @property
    def total(self) -> float:
        return sum(self.seconds.values())


def secondary_indexes(cur) -> list[tuple[str, str]]:
    """(name, CREATE INDEX ...) of every index that backs no constraint: dropped while loading."""
    cur.execute("""
        SELECT c.relname, pg_get_indexdef(i.indexrelid)
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public'
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
        ORDER BY 1""")
    return cur.fetchall()


def load(engine: Engine, shape: Shape, log: Callable[[str], None]) -> LoadReport:
    """Fill an empty, freshly upgraded catalogue; bulk loading the way a restore would."""
    report = LoadReport()
    roles = memberships()
    rng = random.Random(42)
    members = {g: sorted(u for u, mine in roles.items() if g in mine) for g in range(1, N_GROUPS + 1)}
    owner_of_group = {g: next(u for u in members[g] if roles[u][g] == "owner") for g in members}

    raw = engine.raw_connection()
    try:
        pg = raw.driver_connection
        with pg.cursor() as cur:
            # Bulk load: no FK triggers (the generated rows are consistent by construction),
            # secondary indexes built once at the end, no fsync wait per commit.
            cur.execute("SET session_replication_role = replica")
            cur.execute("SET synchronous_commit = off")
            cur.execute("SET maintenance_work_mem = '1GB'")
            cur.execute("SET max_parallel_maintenance_workers = 2")
            indexes = secondary_indexes(cur)
            for name, _ in indexes:
                cur.execute(f'DROP INDEX "{name}"')

            t = time.perf_counter()
            _copy(
                cur,
                "groups",
                ("id", "name", "description", "level", "version"),
                [
                    (g, f"lab-{g:02d}", f"{GROUP_LEVELS[g - 1]} group", GROUP_LEVELS[g - 1], 1)
                    for g in range(1, N_GROUPS + 1)
                ],
            )
            _copy(
                cur,
                "experimenters",
                ("id", "username", "display_name", "email", "is_admin", "default_group_id"),
                [
                    (u, f"user{u:02d}", f"User {u}", f"user{u:02d}@example.org", False, min(mine))
                    for u, mine in roles.items()
                ],
            )
            _copy(
                cur,
                "memberships",
                ("group_id", "user_id", "role"),
                [(g, u, role) for u, mine in roles.items() for g, role in mine.items()],
            )
            # Projects and datasets spread evenly over the groups, each owned by a member of its group.
            projects = []
            for p in range(shape.projects):
                g = p % N_GROUPS + 1
                projects.append(
                    (
                        p + 1,
                        rng.choice(members[g]),
                        g,
                        f"{rng.choice(TAG_WORDS)} study {p + 1}",
                        "A generated project",
                        1,
                    )
                )
            _copy(cur, "projects", ("id", "owner_id", "group_id", "name", "description", "version"), projects)
            per_group = shape.projects // N_GROUPS
            datasets, pd_links = [], []
            for d in range(shape.datasets):
                g = d % N_GROUPS + 1
                owner = rng.choice(members[g])
                datasets.append((d + 1, owner, g, f"plate {d + 1} {rng.choice(TAG_WORDS)}", "", 1))
                project = (d // N_GROUPS) % per_group * N_GROUPS + g
                pd_links.append((d + 1, project, d + 1, owner, g, 1))
            _copy(cur, "datasets", ("id", "owner_id", "group_id", "name", "description", "version"), datasets)
            _copy(
                cur,
                "project_dataset_links",
                ("id", "parent_id", "child_id", "owner_id", "group_id", "version"),
                pd_links,
            )
            tags = [
                (
                    g * TAGS_PER_GROUP + r + 1,
                    "tag",
                    "",
                    TAG_WORDS[r % len(TAG_WORDS)],
                    "",
                    owner_of_group[g + 1],
                    g + 1,
                    1,
                )
                for g in range(N_GROUPS)
                for r in range(TAGS_PER_GROUP)
            ]
            _copy(
                cur,
                "annotations",
                ("id", "kind", "namespace", "text_value", "description", "owner_id", "group_id", "version"),
                tags,
            )
            report.seconds["users, groups, projects, datasets (COPY)"] = time.perf_counter() - t

            n, t_count = shape.images, shape.tags
            half = n // 2
            genes = "ARRAY[" + ",".join(f"'{g}'" for g in GENES) + "]"
            steps = {
                "images": f"""
                    INSERT INTO images (id, owner_id, group_id, name, description, series, acquisition_date,
                        size_x, size_y, size_z, size_c, size_t, pixel_type, physical_size_x, physical_size_y,
                        physical_size_z, instrument, version)
                    SELECT i + 1, d.owner_id, d.group_id,
                        format('%s_%s_%s.ome.tiff', (ARRAY['DAPI','GFP','mCherry','Cy5','BF'])[1 + i % 5],
                               substr(md5(i::text), 1, 8), i + 1),
                        '', 0, timestamptz '2020-01-01' + make_interval(secs => i * 60),
                        2048, 2048, 1 + i % 20, 1 + i % 4, 1, 'uint16', 0.325, 0.325, 1.0, '{{}}', 1
                    FROM generate_series(0, {n - 1}) AS i
                    JOIN datasets d ON d.id = i / {IMAGES_PER_DATASET} + 1""",
                "dataset_image_links": f"""
                    INSERT INTO dataset_image_links (parent_id, child_id, owner_id, group_id, version)
                    SELECT (id - 1) / {IMAGES_PER_DATASET} + 1, id, owner_id, group_id, 1 FROM images ORDER BY id""",
                # Annotation ids: tags 1..T, one map per image T+i, comments on even images, ratings
                # on odd ones, as many as make 2N annotations in all.
                "annotations (maps, comments, ratings)": f"""
                    INSERT INTO annotations (id, kind, namespace, text_value, description, long_value,
                                             owner_id, group_id, version)
                    SELECT {t_count} + id, 'map', '{MAP_NAMESPACE}', NULL::text, '', NULL::bigint, owner_id, group_id, 1
                    FROM images
                    UNION ALL
                    SELECT {t_count + n} + id / 2, 'comment', '',
                        format('%s; imaged by %s', (ARRAY['good focus', 'slightly out of focus', 'bleached',
                            'saturated in channel 2', 'reimage please', 'nice mitotic figure',
                            'check the segmentation', 'drift over time'])[1 + (id / 2) % 8], 'user' || owner_id),
                        '', NULL, owner_id, group_id, 1
                    FROM images WHERE id % 2 = 0
                    UNION ALL
                    SELECT {t_count + n + half} + (id + 1) / 2, 'rating', '', NULL, '',
                        1 + floor(5 * {rnd("id", 5)})::int, owner_id, group_id, 1
                    FROM images WHERE id % 2 = 1 AND (id + 1) / 2 <= {half - t_count}""",
                # gene: 20,000 values, skewed (rank = 20000 r^2: the top gene is on 0.7% of
                # images, the median one on a few); cell line: 8 values; treatment: 2,001 values.
                "map_entries": f"""
                    INSERT INTO map_entries (annotation_id, index, key, value)
                    SELECT a.id, e.index, e.key, e.value
                    FROM (SELECT {t_count} + id AS id, floor({N_GENES} * {rnd("id", 1)} ^ 2)::int AS gene,
                                 id AS image FROM images) a
                    CROSS JOIN LATERAL (VALUES
                        (0, 'gene', CASE WHEN a.gene < {len(GENES)} THEN ({genes})[a.gene + 1]
                                         ELSE 'ORF' || lpad(a.gene::text, 5, '0') END),
                        (1, 'cell_line', (ARRAY['HeLa','U2OS','RPE1','HEK293','MCF7','A549','HCT116',
                                                'Caco-2'])[1 + floor(8 * {rnd("a.image", 6)})::int]),
                        (2, 'treatment', CASE WHEN {rnd("a.image", 7)} < 0.5 THEN 'DMSO'
                                         ELSE 'compound-' || floor(2000 * {rnd("a.image", 8)})::int END)
                    ) AS e(index, key, value)""",
                # Links: every map, comment and rating to its image; one or two of the group's tags
                # per image, skewed (rank = 100 r^2: the top tag is on ~15% of a group's images).
                "annotation_links": f"""
                    INSERT INTO annotation_links (annotation_id, parent_type, parent_id, owner_id, group_id,
                                                  version)
                    SELECT {t_count} + id, 'image', id, owner_id, group_id, 1 FROM images
                    UNION ALL
                    SELECT {t_count + n} + id / 2, 'image', id, owner_id, group_id, 1
                    FROM images WHERE id % 2 = 0
                    UNION ALL
                    SELECT {t_count + n + half} + (id + 1) / 2, 'image', id, owner_id, group_id, 1
                    FROM images WHERE id % 2 = 1 AND (id + 1) / 2 <= {half - t_count}
                    UNION ALL
                    SELECT (group_id - 1) * {TAGS_PER_GROUP} + floor({TAGS_PER_GROUP} * {rnd("id", 2)} ^ 2)::int + 1,
                           'image', id, owner_id, group_id, 1 FROM images
                    UNION ALL
                    SELECT (group_id - 1) * {TAGS_PER_GROUP} + floor({TAGS_PER_GROUP} * {rnd("id", 3)} ^ 2)::int + 1,
                           'image', id, owner_id, group_id, 1 FROM images
                    WHERE {rnd("id", 4)} < 0.5
                      AND floor({TAGS_PER_GROUP} * {rnd("id", 3)} ^ 2) <> floor({TAGS_PER_GROUP} * {rnd("id", 2)} ^ 2)
                    """,
            }
            for label, sql in steps.items():
                t = time.perf_counter()
                cur.execute(sql)
                report.seconds[label] = time.perf_counter() - t
                log(f"  {label}: {cur.rowcount:,} rows in {report.seconds[label]:.1f} s")
            pg.commit()

            t = time.perf_counter()
            for _, ddl in indexes:
                cur.execute(ddl)
            pg.commit()
            report.seconds[f"secondary indexes ({len(indexes)})"] = time.perf_counter() - t
            log(f"  {len(indexes)} secondary indexes in {report.seconds[f'secondary indexes ({len(indexes)})']:.1f} s")
            # Ids were given explicitly: move each sequence past them so the app can insert.
            cur.execute(
                "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'id'"
            )
            for (table,) in cur.fetchall():
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
                )
            pg.commit()
        # VACUUM also sets the visibility map, as autovacuum would soon after a real import.
        pg.autocommit = True
        with pg.cursor() as cur:
            t = time.perf_counter()
            cur.execute("VACUUM (ANALYZE)")
            # Write the loaded pages out now, not in a checkpoint in the middle of the timing.
            cur.execute("CHECKPOINT")
            report.seconds["VACUUM ANALYZE, CHECKPOINT"] = time.perf_counter() - t
            for table in (
                "images",
                "datasets",
                "projects",
                "annotations",
                "annotation_links",
                "map_entries",
                "dataset_image_links",
            ):
                cur.execute(f"SELECT count(*) FROM {table}")
                report.rows[table] = cur.fetchone()[0]
            cur.execute("SELECT pg_database_size(current_database())")
            report.database_bytes = cur.fetchone()[0]
    finally:
        # Not back to the pool: its session settings (no FK triggers) are for loading only.
        raw.invalidate()
    return report
