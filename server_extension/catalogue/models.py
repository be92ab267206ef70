"""SQLAlchemy models of the catalogue: OMERO's model, trimmed to what users use.

The schema itself comes from the Alembic migrations in ``migrations/``; these classes must stay
in step with them (``tests/server_extension/catalogue/test_migrations.py`` checks it).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy import false as sa_false
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

# Stable constraint names, so that migrations can refer to them.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

NAME_LENGTH = 255
GROUP_LEVELS = ("private", "read-only", "read-annotate", "read-write")
MEMBER_ROLES = ("member", "owner")
ANNOTATION_KINDS = ("tag", "tagset", "map", "comment", "file", "rating")
# Objects an annotation can be linked to; "annotation" is a tag set holding tags.
ANNOTATABLE_TYPES = ("project", "dataset", "image", "screen", "plate", "well", "annotation")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = metadata
    type_annotation_map = {dt.datetime: DateTime(timezone=True), int: BigInteger}


class Experimenter(Base):
    """A user of the catalogue."""

    __tablename__ = "experimenters"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    display_name: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    email: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # Where new data goes when the caller names no group.
    default_group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL", use_alter=True))
    created: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    modified: Mapped[dt.datetime] = mapped_column(server_default=func.now())


class Group(Base):
    """A group of experimenters with one of OMERO's four permission levels."""

    __tablename__ = "groups"
    __table_args__ = (
        CheckConstraint(f"level IN {GROUP_LEVELS!r}", name="level"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    level: Mapped[str] = mapped_column(String(16), default="read-only")
    # A JupyterHub group (hub mode): its members follow the hub, its level and owners are scopehub's.
    hub_managed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    created: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    modified: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    version: Mapped[int] = mapped_column(Integer, default=1)


class Membership(Base):
    """A user's membership of a group, as member or group owner."""

    __tablename__ = "memberships"
    __table_args__ = (
        CheckConstraint(f"role IN {MEMBER_ROLES!r}", name="role"),
        Index("ix_memberships_user_id", "user_id"),
    )
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("experimenters.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), default="member")


class Owned:
    """Columns every catalogue object has: an owner, a group, times and a version for edits."""

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("experimenters.id"))
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    created: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    modified: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    # Optimistic concurrency: a PATCH names the version it read; a stale one gets 409.
    version: Mapped[int] = mapped_column(Integer, default=1)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (Index(f"ix_{cls.__tablename__}_group_owner", "group_id", "owner_id"),)


class Named(Owned):
    """An owned object with a name and a description, searchable as words."""

    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    description: Mapped[str] = mapped_column(Text, default="")
    search_vector: Mapped[Any] = mapped_column(
        TSVECTOR,
        Computed("to_tsvector('simple', coalesce(name, '') || ' ' || coalesce(description, ''))", persisted=True),
        deferred=True,
    )

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (
            Index(f"ix_{cls.__tablename__}_group_owner", "group_id", "owner_id"),
            Index(f"ix_{cls.__tablename__}_search", "search_vector", postgresql_using="gin"),
            Index(f"ix_{cls.__tablename__}_lower_name", text("lower(name)")),
        )


class Project(Named, Base):
    __tablename__ = "projects"


class Dataset(Named, Base):
    __tablename__ = "datasets"


class Screen(Named, Base):
    __tablename__ = "screens"


class Plate(Named, Base):
    __tablename__ = "plates"
    rows: Mapped[int | None] = mapped_column(Integer)
    columns: Mapped[int | None] = mapped_column(Integer)


class Fileset(Owned, Base):
    """The original files of one import and the images they produced."""

    __tablename__ = "filesets"
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")


class OriginalFile(Owned, Base):
    """A file kept unchanged in the managed store: an import's original or an attachment."""

    __tablename__ = "original_files"
    fileset_id: Mapped[int | None] = mapped_column(ForeignKey("filesets.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    client_path: Mapped[str] = mapped_column(Text, default="")
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    mimetype: Mapped[str] = mapped_column(String(NAME_LENGTH), default="application/octet-stream")
    # Relative to the store root; never written again once the row exists.
    store_path: Mapped[str] = mapped_column(Text)


class Image(Named, Base):
    """An image: a metadata record, and (from an import) its pixels as OME-Zarr."""

    __tablename__ = "images"
    fileset_id: Mapped[int | None] = mapped_column(ForeignKey("filesets.id"), index=True)
    series: Mapped[int] = mapped_column(Integer, default=0)
    acquisition_date: Mapped[dt.datetime | None] = mapped_column()
    size_x: Mapped[int | None] = mapped_column(Integer)
    size_y: Mapped[int | None] = mapped_column(Integer)
    size_z: Mapped[int | None] = mapped_column(Integer)
    size_c: Mapped[int | None] = mapped_column(Integer)
    size_t: Mapped[int | None] = mapped_column(Integer)
    pixel_type: Mapped[str | None] = mapped_column(String(16))
    physical_size_x: Mapped[float | None] = mapped_column(Float)
    physical_size_y: Mapped[float | None] = mapped_column(Float)
    physical_size_z: Mapped[float | None] = mapped_column(Float)
    # Relative to the store root: where the OME-Zarr pyramid lives, once complete.
    zarr_path: Mapped[str | None] = mapped_column(Text)
    instrument: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # The stored pyramid: [{"size_x", "size_y", "scale"}], level 0 first.
    pyramid: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default="[]")
    # A label image (segmentation): downsampled by nearest value, rendered with a label colour map.
    is_label: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # Samples interleaved as RGB(A) in the original (e.g. a brightfield JPEG or an H&E slide).
    is_rgb: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # Bytes of the stored pyramid's files (their apparent sizes), measured when it was written; NULL until
    # measured (images imported before revision 0004 are measured once from the store at start).
    pyramid_bytes: Mapped[int | None] = mapped_column(BigInteger)


# Storage use (the admin pages) read from these alone, never from the wide rows: per owner, and in total.
Index("ix_images_owner_pyramid", Image.owner_id, postgresql_include=["pyramid_bytes"],
      postgresql_where=Image.zarr_path.is_not(None))
Index("ix_original_files_owner", OriginalFile.owner_id, postgresql_include=["size", "fileset_id"])


class Channel(Base):
    """One channel of an image's pixels."""

    __tablename__ = "channels"
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), primary_key=True)
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    color: Mapped[str] = mapped_column(String(8), default="FFFFFF")
    emission_wavelength: Mapped[float | None] = mapped_column(Float)
    excitation_wavelength: Mapped[float | None] = mapped_column(Float)
    # The data's range, and the display window computed at import (the rendering default).
    min_value: Mapped[float | None] = mapped_column(Float)
    max_value: Mapped[float | None] = mapped_column(Float)
    window_start: Mapped[float | None] = mapped_column(Float)
    window_end: Mapped[float | None] = mapped_column(Float)


class Well(Owned, Base):
    __tablename__ = "wells"
    __table_args__ = (
        UniqueConstraint("plate_id", "row", "column", name="uq_wells_position"),
        Index("ix_wells_group_owner", "group_id", "owner_id"),
    )
    plate_id: Mapped[int] = mapped_column(ForeignKey("plates.id", ondelete="CASCADE"))
    row: Mapped[int] = mapped_column(Integer)
    column: Mapped[int] = mapped_column(Integer)
    external_description: Mapped[str] = mapped_column(Text, default="")


class WellSample(Owned, Base):
    __tablename__ = "well_samples"
    well_id: Mapped[int] = mapped_column(ForeignKey("wells.id", ondelete="CASCADE"), index=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), index=True)
    position_x: Mapped[float | None] = mapped_column(Float)
    position_y: Mapped[float | None] = mapped_column(Float)
    timepoint: Mapped[int | None] = mapped_column(Integer)


class _Link(Owned):
    """A many-to-many link between two containers; the link has its own owner."""

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (
            UniqueConstraint("parent_id", "child_id", name=f"uq_{cls.__tablename__}_pair"),
            Index(f"ix_{cls.__tablename__}_child", "child_id"),
            Index(f"ix_{cls.__tablename__}_group_owner", "group_id", "owner_id"),
        )


class ProjectDatasetLink(_Link, Base):
    __tablename__ = "project_dataset_links"
    parent_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    child_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))


class DatasetImageLink(_Link, Base):
    __tablename__ = "dataset_image_links"
    parent_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    child_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"))


class ScreenPlateLink(_Link, Base):
    __tablename__ = "screen_plate_links"
    parent_id: Mapped[int] = mapped_column(ForeignKey("screens.id", ondelete="CASCADE"))
    child_id: Mapped[int] = mapped_column(ForeignKey("plates.id", ondelete="CASCADE"))


class Annotation(Owned, Base):
    """A tag, tag set, key-value map, comment, file attachment or rating."""

    __tablename__ = "annotations"
    __table_args__ = (
        CheckConstraint(f"kind IN {ANNOTATION_KINDS!r}", name="kind"),
        CheckConstraint("kind <> 'rating' OR long_value BETWEEN 1 AND 5", name="rating"),
        Index("ix_annotations_group_owner", "group_id", "owner_id"),
        Index("ix_annotations_kind_text", "kind", text("lower(text_value)")),
        Index("ix_annotations_search", "search_vector", postgresql_using="gin"),
    )
    kind: Mapped[str] = mapped_column(String(16))
    namespace: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    # The tag's or tag set's name, or the comment's text.
    text_value: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    long_value: Mapped[int | None] = mapped_column(BigInteger)
    file_id: Mapped[int | None] = mapped_column(ForeignKey("original_files.id"))
    search_vector: Mapped[Any] = mapped_column(
        TSVECTOR,
        Computed("to_tsvector('simple', coalesce(text_value, '') || ' ' || coalesce(description, ''))", persisted=True),
        deferred=True,
    )


class MapEntry(Base):
    """One key-value pair of a map annotation; order is kept and keys may repeat."""

    __tablename__ = "map_entries"
    __table_args__ = (
        # annotation_id too, so a key=value search reads the index alone (benchmarks: 6,000 heap
        # pages fewer for a gene on 7,000 images).
        Index("ix_map_entries_key_value", "key", "value", "annotation_id"),
        Index("ix_map_entries_search", text("to_tsvector('simple', key || ' ' || value)"), postgresql_using="gin"),
    )
    annotation_id: Mapped[int] = mapped_column(ForeignKey("annotations.id", ondelete="CASCADE"), primary_key=True)
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(NAME_LENGTH))
    value: Mapped[str] = mapped_column(Text, default="")


class AnnotationLink(Owned, Base):
    """Links an annotation to an object (or a tag to its tag set); owned by whoever made it."""

    __tablename__ = "annotation_links"
    __table_args__ = (
        CheckConstraint(f"parent_type IN {ANNOTATABLE_TYPES!r}", name="parent_type"),
        UniqueConstraint("parent_type", "parent_id", "annotation_id", "owner_id", name="uq_annotation_links_once"),
        # Covers what a search asks of a link (what it annotates), so the table itself is not read.
        Index("ix_annotation_links_annotation", "annotation_id", "parent_type", "parent_id"),
        Index("ix_annotation_links_group_owner", "group_id", "owner_id"),
    )
    annotation_id: Mapped[int] = mapped_column(ForeignKey("annotations.id", ondelete="CASCADE"))
    parent_type: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int] = mapped_column(BigInteger)


class RenderingSettings(Base):
    """One user's saved rendering settings for one image (channels, model, projection, z, t)."""

    __tablename__ = "rendering_settings"
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("experimenters.id", ondelete="CASCADE"), primary_key=True)
    # {"channels": [{"active", "start", "end", "color", "inverted"}], "model": "c"|"g",
    #  "projection": "normal"|"intmax"|"intmean", "z": int, "t": int}
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB)
    modified: Mapped[dt.datetime] = mapped_column(server_default=func.now())


SHAPE_TYPES = ("rectangle", "ellipse", "point", "line", "polyline", "polygon", "mask", "label")


class Roi(Base):
    """A region of interest on one image: a named set of shapes, owned by whoever drew it.

    Its group is always its image's group (moving the image moves its ROIs). Unlike other owned
    objects, ``owner_id`` and ``group_id`` have no foreign keys: the server stamps them from the caller
    and the image, users and groups are never deleted, and each key would cost a lookup per ROI in a
    bulk insert (a third of its time for 10^5 one-shape ROIs; docs/developer/rois.md).
    """

    __tablename__ = "rois"
    __table_args__ = (
        Index("ix_rois_group_owner", "group_id", "owner_id"),
        # An image's ROIs in id order: the pages of GET B/images/{id}/rois.
        Index("ix_rois_image", "image_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"))
    owner_id: Mapped[int] = mapped_column(BigInteger)
    group_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    created: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    modified: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    version: Mapped[int] = mapped_column(Integer, default=1)


class Shape(Base):
    """One shape of a ROI. ``docs/developer/rois.md`` describes the geometry encoding.

    ``coords`` holds the type's numbers flat (a rectangle's x, y, width, height; a polygon's
    x0, y0, x1, y1, ...); ``x_min`` .. ``y_max`` are its bounding box, which the GiST index
    ``ix_shapes_image_bbox`` serves to viewport queries together with the image. ``image_id`` is the
    ROI's image, copied here so that those queries need no join; it has no foreign key of its own
    (the shape goes with its ROI, and its ROI with the image).
    """

    __tablename__ = "shapes"
    __table_args__ = (
        CheckConstraint(f"type IN {SHAPE_TYPES!r}", name="type"),
        Index("ix_shapes_roi_id", "roi_id"),
        # "Shapes of image I whose box meets this box": the range makes the image a GiST column
        # without the btree_gist extension (which the embedded PostgreSQL lacks).
        Index(
            "ix_shapes_image_bbox",
            text("int8range(image_id, image_id, '[]')"),
            text("box(point(x_min, y_min), point(x_max, y_max))"),
            postgresql_using="gist",
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    roi_id: Mapped[int] = mapped_column(ForeignKey("rois.id", ondelete="CASCADE"))
    image_id: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(16))
    # The plane the shape is bound to; NULL: every z-section, time point or channel.
    z: Mapped[int | None] = mapped_column(Integer)
    t: Mapped[int | None] = mapped_column(Integer)
    c: Mapped[int | None] = mapped_column(Integer)
    coords: Mapped[list[float]] = mapped_column(ARRAY(Float))
    # A mask's pixels: numpy.packbits of a row-major bool array of height x width.
    bits: Mapped[bytes | None] = mapped_column(LargeBinary)
    stroke_color: Mapped[str] = mapped_column(String(8))  # RRGGBBAA
    fill_color: Mapped[str] = mapped_column(String(8))
    stroke_width: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text, default="")
    font_size: Mapped[float | None] = mapped_column(Float)
    x_min: Mapped[float] = mapped_column(Float)
    y_min: Mapped[float] = mapped_column(Float)
    x_max: Mapped[float] = mapped_column(Float)
    y_max: Mapped[float] = mapped_column(Float)


IMPORT_STATES = ("queued", "running", "done", "failed")


class ImportJob(Owned, Base):
    """One import: what to read, where it goes, how far it got, and why it failed."""

    __tablename__ = "import_jobs"
    __table_args__ = (
        CheckConstraint(f"status IN {IMPORT_STATES!r}", name="status"),
        Index("ix_import_jobs_group_owner", "group_id", "owner_id"),
        Index("ix_import_jobs_status", "status"),
    )
    status: Mapped[str] = mapped_column(String(16), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text)
    # {"paths": [...], "labels": [...]} or {"uploads": [...]}, plus name, description, dataset_id, target, label.
    request: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"))
    fileset_id: Mapped[int | None] = mapped_column(ForeignKey("filesets.id", ondelete="SET NULL"))
    image_ids: Mapped[list[int]] = mapped_column(JSONB, default=list)
    # Where the job writes until it is done; removed if it fails or its worker dies.
    work_paths: Mapped[list[str]] = mapped_column(JSONB, default=list)
    worker_pid: Mapped[int | None] = mapped_column(Integer)
    started: Mapped[dt.datetime | None] = mapped_column()
    finished: Mapped[dt.datetime | None] = mapped_column()


class AuditEntry(Base):
    """What an admin (or someone acting as another user) changed, and when."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    time: Mapped[dt.datetime] = mapped_column(server_default=func.now(), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("experimenters.id", ondelete="SET NULL"))
    acting_as_id: Mapped[int | None] = mapped_column(ForeignKey("experimenters.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32), default="")
    target_id: Mapped[int | None] = mapped_column(BigInteger)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


WRITE_STATES = ("open", "committing", "done", "aborted", "failed")


class ImageWrite(Owned, Base):
    """An image being written from a client, chunk by chunk, before it becomes a catalogue image.

    The chunks wait in ``<store>/tmp/write-<id>/``; ``POST B/writes/{id}/commit`` turns them into a
    pyramid and an image row (as an import job), all or nothing. Open writes left alone expire.
    """

    __tablename__ = "image_writes"
    __table_args__ = (
        CheckConstraint(f"status IN {WRITE_STATES!r}", name="status"),
        Index("ix_image_writes_group_owner", "group_id", "owner_id"),
        Index("ix_image_writes_status", "status"),
    )
    status: Mapped[str] = mapped_column(String(16), default="open")
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"))
    # True when the image goes into a dataset: a dataset deleted meanwhile fails the commit.
    to_dataset: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    description: Mapped[str] = mapped_column(Text, default="")
    # Level 0 as (t, c, z, y, x), and the pixel type (one of the stored types).
    shape: Mapped[list[int]] = mapped_column(JSONB)
    pixel_type: Mapped[str] = mapped_column(String(16))
    # {"channels": [{"name", "color"}], "physical_size": {"x", "y", "z"}, "is_label": bool}
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, default=dict)
    # What the image was computed from, and how: recorded with the image when it is committed.
    provenance: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("import_jobs.id", ondelete="SET NULL"))
    image_id: Mapped[int | None] = mapped_column(ForeignKey("images.id", ondelete="SET NULL"))
    error: Mapped[str | None] = mapped_column(Text)


PROVENANCE_TYPES = ("project", "dataset", "image", "screen", "plate")


class Provenance(Base):
    """How an object was made from a notebook or script: its inputs, code, parameters and packages."""

    __tablename__ = "provenance"
    __table_args__ = (
        CheckConstraint(f"object_type IN {PROVENANCE_TYPES!r}", name="object_type"),
        UniqueConstraint("object_type", "object_id", name="uq_provenance_object"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    object_type: Mapped[str] = mapped_column(String(16))
    object_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("experimenters.id", ondelete="SET NULL"))
    created: Mapped[dt.datetime] = mapped_column(server_default=func.now())
    # [{"type": "image", "id": 12}], in the order given
    inputs: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    # The notebook (path under the Jupyter root) or script, and the code of the cell that made it.
    source: Mapped[str] = mapped_column(Text, default="")
    code_sha256: Mapped[str] = mapped_column(String(64), default="")
    code: Mapped[str | None] = mapped_column(Text)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # {"numpy": "2.4.0", ...}: the versions of the packages the kernel had loaded
    packages: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict)
    # Python version, platform, client: what else the client said about where it ran
    environment: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
