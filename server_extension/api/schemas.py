"""The shapes of request and reply bodies, as pydantic models.

Request models validate what clients send (unknown fields, wrong types and over-long text are
refused); reply models only document what the catalogue returns. Both feed ``openapi.json``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from ..catalogue.models import ANNOTATION_KINDS, GROUP_LEVELS, MEMBER_ROLES, NAME_LENGTH

Name = Annotated[str, StringConstraints(min_length=1, max_length=NAME_LENGTH, strip_whitespace=True)]
Text = Annotated[str, StringConstraints(max_length=100_000)]
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
Username = Annotated[str, StringConstraints(min_length=1, max_length=NAME_LENGTH, pattern=r"^[A-Za-z0-9._@+-]+$")]
Level = Literal[GROUP_LEVELS]  # type: ignore[valid-type]
Role = Literal[MEMBER_ROLES]  # type: ignore[valid-type]
Target = Annotated[str, StringConstraints(pattern=r"^(project|dataset|image|screen|plate|well|annotation):[0-9]{1,18}$")]
Version = Annotated[int, Field(ge=1, le=2**31 - 1, description="The version you read; a stale one gets 409.")]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="after")
    def _no_nul(self) -> Request:
        # PostgreSQL text cannot hold NUL: refuse it here (400) rather than fail in the database (500).
        if _has_nul(list(self.__dict__.values())):
            raise ValueError("text may not contain NUL (\\u0000) characters")
        return self


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    return isinstance(value, list | tuple) and any(_has_nul(v) for v in value)


# ---- requests ------------------------------------------------------------------------------
class ProjectCreate(Request):
    name: Name
    description: Text = ""
    group_id: Id | None = Field(None, description="Defaults to your default group.")


class ScreenCreate(ProjectCreate):
    pass


class DatasetCreate(ProjectCreate):
    project_id: Id | None = Field(None, description="Link the new dataset into this project.")


class ImageCreate(ProjectCreate):
    dataset_id: Id | None = Field(None, description="Link the new image into this dataset.")


class PlateCreate(ProjectCreate):
    screen_id: Id | None = Field(None, description="Link the new plate into this screen.")
    rows: Annotated[int, Field(ge=1, le=1000)] | None = None
    columns: Annotated[int, Field(ge=1, le=1000)] | None = None


class ContainerUpdate(Request):
    name: Name | None = None
    description: Text | None = None
    owner_id: Id | None = Field(None, description="Give the object to another member of its group.")
    group_id: Id | None = Field(None, description="Move the object, and what it alone holds, to another group (admins).")
    version: Version | None = None


class WellCreate(Request):
    row: Annotated[int, Field(ge=0, le=999)]
    column: Annotated[int, Field(ge=0, le=999)]
    external_description: Text = ""
    image_ids: list[Id] = Field(default_factory=list, max_length=1000)


class AnnotationCreate(Request):
    type: Literal["tag", "tagset", "map", "comment", "rating"]
    value: Annotated[str, StringConstraints(max_length=100_000)] | int | None = Field(
        None, description="A tag's or tag set's name, a comment's text, a rating from 1 to 5.")
    values: list[tuple[Name, Text]] | None = Field(None, max_length=10_000,
                                                   description="A map's ordered key-value pairs; keys may repeat.")
    namespace: Annotated[str, StringConstraints(max_length=NAME_LENGTH)] = ""
    description: Text = ""
    on: list[Target] = Field(default_factory=list, max_length=1000, description="Objects to link it to, as TYPE:ID.")
    group_id: Id | None = None


class AnnotationUpdate(Request):
    value: Annotated[str, StringConstraints(max_length=100_000)] | int | None = None
    values: list[tuple[Name, Text]] | None = Field(None, max_length=10_000)
    namespace: Annotated[str, StringConstraints(max_length=NAME_LENGTH)] | None = None
    description: Text | None = None
    version: Version | None = None


class UserCreate(Request):
    username: Username
    display_name: Annotated[str, StringConstraints(max_length=NAME_LENGTH)] = ""
    email: Annotated[str, StringConstraints(max_length=NAME_LENGTH)] = ""
    is_admin: bool = False


class UserUpdate(Request):
    display_name: Annotated[str, StringConstraints(max_length=NAME_LENGTH)] | None = None
    email: Annotated[str, StringConstraints(max_length=NAME_LENGTH)] | None = None
    is_admin: bool | None = None
    default_group_id: Id | None = None


class GroupCreate(Request):
    name: Name
    description: Text = ""
    level: Level = "read-only"


class GroupUpdate(Request):
    name: Name | None = None
    description: Text | None = None
    level: Level | None = None
    version: Version | None = None


class MemberPut(Request):
    role: Role = "member"


# ---- replies -------------------------------------------------------------------------------
class Ref(BaseModel):
    id: int


class OwnerRef(Ref):
    username: str


class GroupRef(Ref):
    name: str


class Owned(BaseModel):
    id: int
    owner: OwnerRef
    group: GroupRef
    created: str
    modified: str
    version: int
    can_edit: bool
    can_delete: bool
    can_annotate: bool
    can_link: bool
    can_chown: bool
    can_chgrp: bool


class PyramidLevel(BaseModel):
    size_x: int
    size_y: int
    scale: float = Field(description="Downsampling factor against level 0.")


class Pixels(BaseModel):
    size_x: int
    size_y: int
    size_z: int | None
    size_c: int | None
    size_t: int | None
    pixel_type: str | None
    physical_size_x: float | None
    physical_size_y: float | None
    physical_size_z: float | None
    levels: list[PyramidLevel] = Field(description="The stored pyramid, full resolution first.")
    is_label: bool = Field(description="A label image (segmentation): integer ids, pyramid levels by nearest value, "
                           "shown with label colours (glasbey.lut) by default.")
    is_rgb: bool = Field(description="Red, green and blue samples of one colour image.")


class ChannelOut(BaseModel):
    index: int
    name: str
    color: str
    emission_wavelength: float | None
    excitation_wavelength: float | None
    min: float | None = Field(description="The smallest value in the channel's data.")
    max: float | None = Field(description="The largest value in the channel's data.")
    window_start: float | None = Field(description="The default display window, computed at import.")
    window_end: float | None


class ContainerOut(Owned):
    type: Literal["project", "dataset", "image", "screen", "plate"]
    name: str
    description: str
    has_provenance: bool = Field(False, description="Made from a notebook or script: `GET .../provenance` says how.")
    child_count: int | None = Field(None, description="Visible children (projects, datasets, screens).")
    parents: list[int] | None = Field(None, description="Ids of the visible parents (single-object replies).")
    fileset_id: int | None = None
    acquisition_date: str | None = None
    pixels: Pixels | None = None
    channels: list[ChannelOut] | None = None
    rows: int | None = None
    columns: int | None = None
    roi_count: int | None = Field(None, description="ROIs you can see on the image (images).")


class FileOut(BaseModel):
    id: int
    name: str
    size: int
    sha256: str
    mimetype: str


class ParentRef(BaseModel):
    type: str
    id: int


class AnnotationLinkOut(BaseModel):
    id: int
    parent: ParentRef
    owner: OwnerRef
    can_delete: bool


class AnnotationOut(Owned):
    type: Literal[ANNOTATION_KINDS]  # type: ignore[valid-type]
    namespace: str
    description: str
    value: str | int | None = None
    values: list[tuple[str, str]] | None = None
    file: FileOut | None = None
    links: list[AnnotationLinkOut] | None = None


class MembershipOut(BaseModel):
    id: int
    name: str
    level: Level
    role: Role


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    email: str
    is_admin: bool
    default_group_id: int | None
    created: str
    groups: list[MembershipOut]


class MemberOut(BaseModel):
    id: int
    username: str
    role: Role


class GroupOut(BaseModel):
    id: int
    name: str
    description: str
    level: Level
    hub_managed: bool = Field(False, description="A JupyterHub group: its members follow the hub.")
    version: int
    created: str
    role: Role | None
    can_edit: bool
    members: list[MemberOut] | None = None


class LinkOut(BaseModel):
    id: int
    parent: ParentRef
    child: ParentRef
    owner_id: int


class AnnotationLinkCreated(BaseModel):
    id: int
    annotation_id: int
    parent: ParentRef
    owner_id: int


class DeleteReport(BaseModel):
    dry_run: bool = False
    deleted: dict[str, list[int]]
    kept: dict[str, list[int]] = Field(default_factory=dict)


class WellSampleOut(BaseModel):
    id: int
    image_id: int


class WellOut(BaseModel):
    id: int
    plate_id: int
    row: int
    column: int
    external_description: str
    samples: list[WellSampleOut]


class AuditOut(BaseModel):
    id: int
    time: str
    actor_id: int | None = Field(description="Who made the change (the admin, when acting as someone else).")
    actor: str | None = Field(description="Their username (null once the user is deleted).")
    acting_as_id: int | None
    acting_as: str | None
    action: str
    target_type: str
    target_id: int | None
    target_name: str | None = Field(description="The target's name or username, while it exists.")
    details: dict


class RootOut(BaseModel):
    name: Literal["scopehub"]
    version: str
    api_version: Literal["v1"]
    mode: Literal["standalone", "hub", "client"]
    user: str


class MeOut(UserOut):
    scopes: list[str]
    acting_as: bool = Field(description="True when an admin sent X-Scopehub-Act-As.")


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[dict] | None = None


class ErrorOut(BaseModel):
    error: ErrorBody


def page_of(item: type[BaseModel]) -> type[BaseModel]:
    """The list reply: one page of items and the total count."""
    return type(f"{item.__name__.removesuffix('Out')}Page", (BaseModel,), {
        "__annotations__": {"items": list[item], "offset": int, "limit": int, "total": int},
    })
