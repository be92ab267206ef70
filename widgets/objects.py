"""Catalogue objects as Python objects: projects, datasets, images, screens, plates and wells.

Each wraps the API's reply (``obj.data``) and adds what one does with it: its children as lazy
lists, its annotations (``annotations.Annotatable``), its provenance, and for images the pixels
(``pixels.py``), rendering and writing new images back (``writer.py``).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar

from .annotations import Annotatable
from .paging import PagedList

if TYPE_CHECKING:
    import dask.array
    import numpy as np
    import PIL.Image
    import zarr

    from .client import Hub
    from .provenance import Provenance


def _time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


class CatalogueObject(Annotatable):
    """A project, dataset, image, screen or plate: what the API says of it, and what one does with it."""

    kind: ClassVar[str] = ""

    def __init__(self, hub: Hub, data: dict[str, Any]):
        self._hub = hub
        self._data = dict(data)

    # ---- what it is -------------------------------------------------------------------------
    @property
    def id(self) -> int:
        return self._data["id"]

    @property
    def name(self) -> str:
        return self._data["name"]

    @property
    def description(self) -> str:
        return self._data.get("description", "")

    @property
    def owner(self) -> str:
        """The owner's username."""
        return self._data["owner"]["username"]

    @property
    def group(self) -> str:
        """The group's name."""
        return self._data["group"]["name"]

    @property
    def group_id(self) -> int:
        return self._data["group"]["id"]

    @property
    def created(self) -> dt.datetime | None:
        return _time(self._data.get("created"))

    @property
    def modified(self) -> dt.datetime | None:
        return _time(self._data.get("modified"))

    @property
    def can_edit(self) -> bool:
        return bool(self._data.get("can_edit"))

    @property
    def can_annotate(self) -> bool:
        return bool(self._data.get("can_annotate"))

    @property
    def data(self) -> dict[str, Any]:
        """The API's reply for this object, as it was last read."""
        return dict(self._data)

    @property
    def path(self) -> str:
        """Its route under the API: ``images/12``."""
        return f"{self.kind}s/{self.id}"

    @property
    def target(self) -> str:
        """How annotations name it: ``image:12``."""
        return f"{self.kind}:{self.id}"

    # ---- reading and changing it ------------------------------------------------------------
    def refresh(self) -> CatalogueObject:
        """Read it again from the server."""
        self._data = self._hub.http.get(self.path)
        return self

    def _full(self) -> dict[str, Any]:
        """The single-object reply (lists leave out channels and parents)."""
        if "parents" not in self._data and self.kind in ("dataset", "image", "plate"):
            self.refresh()
        return self._data

    def update(self, *, name: str | None = None, description: str | None = None) -> CatalogueObject:
        """Rename it or change its description; a change someone made since you read it is a ``Conflict``."""
        fields = {k: v for k, v in (("name", name), ("description", description)) if v is not None}
        self._data = self._hub.http.json("PATCH", self.path, json={**fields, "version": self._data["version"]})
        return self

    def delete(self, *, dry_run: bool = False, include: tuple[str, ...] = ()) -> dict[str, Any]:
        """Delete it and what it alone holds (OMERO's rules); ``dry_run`` only reports what would go."""
        params = {"dry_run": "1" if dry_run else None, "include": ",".join(include) or None}
        return self._hub.http.json("DELETE", self.path, params={k: v for k, v in params.items() if v})

    # ---- provenance -------------------------------------------------------------------------
    @property
    def has_provenance(self) -> bool:
        return bool(self._data.get("has_provenance"))

    @property
    def provenance(self) -> Provenance | None:
        """How it was made from a notebook or script (inputs, code, parameters, packages), or None."""
        from .errors import NotFound
        from .provenance import Provenance

        if not self.has_provenance:
            self.refresh()
            if not self.has_provenance:
                return None
        try:
            return Provenance(self._hub, self._hub.http.get(f"{self.path}/provenance"))
        except NotFound:
            return None

    def record_provenance(self, *, inputs: Any = None, parameters: dict[str, Any] | None = None) -> Provenance:
        """Record how this object was made from here (done for you by ``create_*``); once per object."""
        from .provenance import Provenance, collect

        reply = self._hub.http.json("POST", f"{self.path}/provenance", json=collect(inputs, parameters))
        self._data["has_provenance"] = True
        return Provenance(self._hub, reply)

    # ---- display ----------------------------------------------------------------------------
    def row(self) -> dict[str, Any]:
        """A flat dictionary of the key facts (a row of ``to_pandas()``)."""
        row = {"id": self.id, "type": self.kind, "name": self.name, "owner": self.owner, "group": self.group,
               "created": self.created, "modified": self.modified, "description": self.description}
        if "child_count" in self._data:
            row["children"] = self._data["child_count"]
        row["has_provenance"] = self.has_provenance
        return row

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} {self.name!r}>"

    def _repr_html_(self) -> str:
        from .display import object_html

        return object_html(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CatalogueObject) and (self.kind, self.id) == (other.kind, other.id)

    def __hash__(self) -> int:
        return hash((self.kind, self.id))

    def _children(self, kind: str, parent_arg: str, **params: Any) -> PagedList:
        return self._hub._list(kind, **{parent_arg: self.id}, **params,
                               title=f"{kind}s in {self.kind} {self.id} ({self.name})")

    def _parents(self, kind: str) -> list[CatalogueObject]:
        return [self._hub._get(kind, i) for i in self._full().get("parents", [])]

    def _link(self, child: CatalogueObject | int, kind: str, link: bool) -> None:
        child_id = child.id if isinstance(child, CatalogueObject) else int(child)
        self._hub.http.request("PUT" if link else "DELETE", f"{self.path}/{kind}s/{child_id}")


class Project(CatalogueObject):
    kind = "project"

    def datasets(self, *, q: str | None = None, order: str = "name") -> PagedList[Dataset]:
        """The datasets in this project that you can see."""
        return self._children("dataset", "project", q=q, order=order)

    def create_dataset(self, name: str, description: str = "", *, provenance: bool = True) -> Dataset:
        """A new dataset in this project (with its provenance, unless ``provenance=False``)."""
        return self._hub.create_dataset(name, description, project=self, provenance=provenance)

    def add(self, dataset: Dataset | int) -> None:
        """Link a dataset into this project (it may be in several)."""
        self._link(dataset, "dataset", True)

    def remove(self, dataset: Dataset | int) -> None:
        """Unlink a dataset from this project (the dataset stays)."""
        self._link(dataset, "dataset", False)


class Dataset(CatalogueObject):
    kind = "dataset"

    def images(self, *, q: str | None = None, order: str = "name") -> PagedList[Image]:
        """The images in this dataset that you can see."""
        return self._children("image", "dataset", q=q, order=order)

    def projects(self) -> list[Project]:
        return self._parents("project")  # type: ignore[return-value]

    def add(self, image: Image | int) -> None:
        self._link(image, "image", True)

    def remove(self, image: Image | int) -> None:
        self._link(image, "image", False)

    def create_image(self, array: Any, name: str, *, dims: str | None = None, channel_names: list[str] | None = None,
                     channel_colors: list[str] | None = None, physical_size: Any = None, description: str = "",
                     label: bool = False, inputs: Any = None, parameters: dict[str, Any] | None = None,
                     provenance: bool = True, progress: bool = True) -> Image:
        """Write ``array`` (numpy, dask, or anything numpy-like) as a new image in this dataset.

        The array is sent in 512 × 512 chunks, a block at a time (a dask array larger than memory is
        computed block by block), and becomes a catalogue image with a pyramid once every chunk is in
        (all or nothing: an interrupted write leaves nothing in the catalogue). ``dims`` names the
        array's axes among t, c, z, y, x (default: ``yx``, ``tczyx``; 3-D and 4-D arrays need it,
        e.g. ``"zyx"``, ``"cyx"``, ``"yxc"`` for RGB). ``physical_size`` is micrometres per pixel: a
        number (x = y), ``(y, x)``, ``(z, y, x)`` or ``{"x":, "y":, "z":}``.

        Its provenance is recorded with it: ``inputs`` (images or ids; by default the images read in
        this kernel), the notebook and the cell's code, ``parameters``, package versions, you and now.
        """
        from .writer import write_image

        return write_image(self._hub, array, name=name, dataset_id=self.id, dims=dims, channel_names=channel_names,
                           channel_colors=channel_colors, physical_size=physical_size, description=description,
                           label=label, inputs=inputs, parameters=parameters, provenance=provenance,
                           progress=progress)


class Image(CatalogueObject):
    kind = "image"

    # ---- pixel facts ------------------------------------------------------------------------
    @property
    def pixels(self) -> dict[str, Any] | None:
        return self._data.get("pixels")

    def _pixels(self) -> dict[str, Any]:
        from .errors import NotFound

        if self.pixels is None:
            raise NotFound(f"image {self.id} ({self.name}) has no pixels", status=404, code="not_found")
        return self.pixels

    @property
    def shape(self) -> tuple[int, int, int, int, int] | None:
        """(t, c, z, y, x) of full resolution, or None without pixels."""
        p = self.pixels
        return None if p is None else (p["size_t"], p["size_c"], p["size_z"], p["size_y"], p["size_x"])

    @property
    def dtype(self) -> np.dtype | None:
        import numpy as np

        return None if self.pixels is None else np.dtype(self.pixels["pixel_type"])

    @property
    def physical_size(self) -> dict[str, float | None]:
        """Micrometres per pixel along x and y, and between z-sections (None when unknown)."""
        p = self.pixels or {}
        return {axis: p.get(f"physical_size_{axis}") for axis in ("x", "y", "z")}

    @property
    def levels(self) -> list[tuple[int, int]]:
        """(size_y, size_x) of each stored pyramid level, full resolution first."""
        return [(lv["size_y"], lv["size_x"]) for lv in (self.pixels or {}).get("levels", [])]

    @property
    def channels(self) -> list[dict[str, Any]]:
        """Each channel's name, colour, data range and default window."""
        return list(self._full().get("channels") or [])

    @property
    def channel_names(self) -> list[str]:
        return [c["name"] for c in self.channels]

    def datasets(self) -> list[Dataset]:
        """The datasets this image is in (those you can see)."""
        return self._parents("dataset")  # type: ignore[return-value]

    # ---- pixels -----------------------------------------------------------------------------
    def to_numpy(self, level: int = 0, *, t: Any = None, c: Any = None, z: Any = None,
                 region: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """Read pixels into numpy; only the chunks asked for travel.

        The result is (t, c, z, y, x), less the axes given as a single integer (``t=0, c=1, z=0`` gives
        a 2-D plane). ``t``, ``c``, ``z``: an index, a slice, a list of indices, or None for all.
        ``region``: (x, y, width, height) in full-resolution pixels (scaled to ``level``).
        """
        from .pixels import read_numpy

        return read_numpy(self, level, t=t, c=c, z=z, region=region)

    def to_dask(self, level: int = 0) -> dask.array.Array:
        """A lazy (t, c, z, y, x) dask array of one pyramid level, in the stored 512 × 512 chunks."""
        from .pixels import read_dask

        return read_dask(self, level)

    def to_zarr(self, level: int | None = None) -> zarr.Group | zarr.Array:
        """The stored OME-Zarr, read-only over HTTP: the group (with its metadata), or one level's array."""
        from .pixels import open_zarr

        return open_zarr(self, level)

    def render(self, *, z: int | None = None, t: int | None = None, channels: str | None = None,
               region: tuple[int, int, int, int] | None = None, tile: tuple[int, ...] | None = None,
               greyscale: bool = False, format: str = "png") -> PIL.Image.Image:
        """A rendered view as a PIL image, with your rendering settings unless told otherwise.

        ``channels`` uses OMERO's grammar (``"1|100:2000$FF0000,2|0:4095$00FF00"``); ``region`` is
        (x, y, width, height) in full-resolution pixels; ``tile`` (level, column, row).
        """
        from .display import image_from

        params: dict[str, Any] = {"z": z, "t": t, "c": channels, "format": format, "m": "g" if greyscale else None}
        if region is not None:
            params["region"] = ",".join(str(int(v)) for v in region)
        if tile is not None:
            params["tile"] = ",".join(str(int(v)) for v in tile)
        response = self._hub.http.request("GET", f"{self.path}/render",
                                          params={k: v for k, v in params.items() if v is not None})
        return image_from(response.content)

    def thumbnail(self, size: int = 128) -> PIL.Image.Image:
        """A thumbnail (longest side ``size``) as a PIL image."""
        from .display import image_from

        return image_from(self._hub.http.request("GET", f"{self.path}/thumbnail", params={"size": size}).content)

    def row(self) -> dict[str, Any]:
        row = super().row()
        shape = self.shape
        row.update({"size_t": None, "size_c": None, "size_z": None, "size_y": None, "size_x": None,
                    "pixel_type": None, "physical_size_x": None, "physical_size_y": None, "physical_size_z": None})
        if shape is not None:
            row.update(zip(("size_t", "size_c", "size_z", "size_y", "size_x"), shape, strict=True))
            row["pixel_type"] = self.pixels["pixel_type"]  # type: ignore[index]
            row.update({f"physical_size_{k}": v for k, v in self.physical_size.items()})
        return row

    def __repr__(self) -> str:
        shape = self.shape
        facts = f" {shape[4]}×{shape[3]} {self.pixels['pixel_type']}" if shape else ""  # type: ignore[index]
        return f"<Image {self.id} {self.name!r}{facts}>"


class Screen(CatalogueObject):
    kind = "screen"

    def plates(self) -> PagedList[Plate]:
        return self._children("plate", "screen")


class Plate(CatalogueObject):
    kind = "plate"

    def wells(self) -> PagedList[Well]:
        """The plate's wells (row and column from 0) with their images."""
        return PagedList(self._hub.http, f"{self.path}/wells", {}, lambda d: Well(self._hub, d),
                         title=f"wells of plate {self.id}")

    def screens(self) -> list[Screen]:
        return self._parents("screen")  # type: ignore[return-value]


class Well:
    """A well of a plate: its place and its images (one per field)."""

    def __init__(self, hub: Hub, data: dict[str, Any]):
        self._hub = hub
        self.data = data
        self.id: int = data["id"]
        self.row_index: int = data["row"]
        self.column: int = data["column"]

    @property
    def label(self) -> str:
        """``A1`` for row 0, column 0."""
        row = self.row_index
        letters = ""
        while True:
            letters = chr(ord("A") + row % 26) + letters
            row = row // 26 - 1
            if row < 0:
                break
        return f"{letters}{self.column + 1}"

    def images(self) -> list[Image]:
        return [self._hub.image(s["image_id"]) for s in self.data.get("samples", [])]

    def row(self) -> dict[str, Any]:
        return {"id": self.id, "well": self.label, "row": self.row_index, "column": self.column,
                "images": [s["image_id"] for s in self.data.get("samples", [])]}

    def __repr__(self) -> str:
        return f"<Well {self.label} of plate {self.data.get('plate_id')}>"


CLASSES: dict[str, type[CatalogueObject]] = {"project": Project, "dataset": Dataset, "image": Image,
                                              "screen": Screen, "plate": Plate}


def wrap(hub: Hub, data: dict[str, Any]) -> CatalogueObject:
    """The object for an API reply of any kind."""
    return CLASSES[data["type"]](hub, data)
