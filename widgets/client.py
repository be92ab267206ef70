"""``scopehub.connect()``: the catalogue from Python, with your own identity.

    import scopehub
    hub = scopehub.connect()                      # in JupyterLab or Notebook, standalone or on a hub
    hub = scopehub.connect("https://hub.example.org/services/scopehub/", token)   # from anywhere else

    for image in hub.dataset(12).images():
        data = image.to_numpy(c=0, z=0)
"""

from __future__ import annotations

from typing import Any

from .annotations import Annotation
from .connection import Endpoint, find_endpoint
from .http import Http
from .objects import CLASSES, CatalogueObject, Dataset, Image, Plate, Project, Screen, wrap
from .paging import PagedList
from .provenance import images_read


def connect(url: str | None = None, token: str | None = None, *, act_as: str | None = None) -> Hub:
    """Connect to scopehub: with no arguments, to the Jupyter server (or JupyterHub) this kernel runs
    in; else to ``url`` (a Jupyter server, a hub's scopehub service, or the API itself) with ``token``.
    An admin may ``act_as`` another user (recorded in the audit log).

    Raises ``ConnectionFailed`` when no server is found or reachable, ``NotAuthenticated`` for a bad token.
    """
    endpoint = find_endpoint(url, token)
    http = Http(endpoint.api_url, endpoint.token, act_as)
    info = http.get("")
    return Hub(endpoint, http, info)


class Hub:
    """A connection to scopehub: lists, objects by id, search, and new projects and datasets."""

    def __init__(self, endpoint: Endpoint, http: Http, info: dict[str, Any]):
        self.endpoint = endpoint
        self.http = http
        self.info = info
        self._me: dict[str, Any] | None = None
        self._closers: list[Any] = []  # what close() releases besides the HTTP session (the zarr file system)

    # ---- who and where ----------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The API's URL."""
        return self.endpoint.api_url

    @property
    def mode(self) -> str:
        return self.info["mode"]

    @property
    def username(self) -> str:
        return self.info["user"]

    def me(self) -> dict[str, Any]:
        """Your user: groups with your role, admin flag, scopes."""
        if self._me is None:
            self._me = self.http.get("me")
        return self._me

    @property
    def user_id(self) -> int:
        return self.me()["id"]

    @property
    def images_read(self) -> list[int]:
        """Ids of the images whose pixels this process has read: the default inputs of what it writes."""
        return images_read()

    # ---- lists ------------------------------------------------------------------------------
    def _list(self, kind: str, *, title: str = "", **params: Any) -> PagedList:
        if params.get("owner") == "me":
            params["owner"] = self.user_id
        if isinstance(params.get("orphaned"), bool):
            params["orphaned"] = "1" if params["orphaned"] else None
        return PagedList(self.http, f"{kind}s", params, lambda item: CLASSES[kind](self, item),
                         title=title or f"{kind}s")

    def projects(self, *, q: str | None = None, owner: int | str | None = None, group: int | None = None,
                 order: str = "name") -> PagedList[Project]:
        """Projects you can see. ``q``: words (prefixes); ``owner``: a user id or ``"me"``; ``group``: an id;
        ``order``: name, -name, id, created, -modified, ..."""
        return self._list("project", q=q, owner=owner, group=group, order=order)

    def datasets(self, *, project: int | None = None, q: str | None = None, owner: int | str | None = None,
                 group: int | None = None, order: str = "name", orphaned: bool | None = None) -> PagedList[Dataset]:
        return self._list("dataset", project=project, q=q, owner=owner, group=group, order=order, orphaned=orphaned)

    def images(self, *, dataset: int | None = None, q: str | None = None, owner: int | str | None = None,
               group: int | None = None, order: str = "name", orphaned: bool | None = None) -> PagedList[Image]:
        return self._list("image", dataset=dataset, q=q, owner=owner, group=group, order=order, orphaned=orphaned)

    def screens(self, *, q: str | None = None, owner: int | str | None = None, order: str = "name"
                ) -> PagedList[Screen]:
        return self._list("screen", q=q, owner=owner, order=order)

    def plates(self, *, screen: int | None = None, q: str | None = None, order: str = "name") -> PagedList[Plate]:
        return self._list("plate", screen=screen, q=q, order=order)

    def search(self, q: str, type: str | list[str] | None = None) -> PagedList[CatalogueObject]:
        """Names, descriptions, tags, key-values and comments: words, ``key=value`` or ``tag:name``.
        ``type`` limits the kinds (``"image"``, or a list)."""
        types = ",".join(type) if isinstance(type, list | tuple) else type
        return PagedList(self.http, "search", {"q": q, "type": types}, lambda item: wrap(self, item),
                         title=f"search {q!r}")

    def annotations(self, *, type: str | None = None, q: str | None = None, owner: int | str | None = None
                    ) -> PagedList[Annotation]:
        """Annotations you can see (``type``: tag, tagset, map, comment, rating, file)."""
        if owner == "me":
            owner = self.user_id
        return PagedList(self.http, "annotations", {"type": type, "q": q, "owner": owner, "order": "id"},
                         lambda item: Annotation(self, item), title="annotations")

    # ---- single objects ---------------------------------------------------------------------
    def _get(self, kind: str, obj_id: int) -> CatalogueObject:
        return CLASSES[kind](self, self.http.get(f"{kind}s/{int(obj_id)}"))

    def project(self, project_id: int) -> Project:
        """The project with this id (``NotFound`` if it does not exist or you may not see it)."""
        return self._get("project", project_id)  # type: ignore[return-value]

    def dataset(self, dataset_id: int) -> Dataset:
        return self._get("dataset", dataset_id)  # type: ignore[return-value]

    def image(self, image_id: int) -> Image:
        return self._get("image", image_id)  # type: ignore[return-value]

    def screen(self, screen_id: int) -> Screen:
        return self._get("screen", screen_id)  # type: ignore[return-value]

    def plate(self, plate_id: int) -> Plate:
        return self._get("plate", plate_id)  # type: ignore[return-value]

    def write(self, write_id: int) -> dict[str, Any]:
        """A write (an image being saved from a client): its status and the commit's progress."""
        return self.http.get(f"writes/{int(write_id)}")

    # ---- new containers ---------------------------------------------------------------------
    def _create(self, kind: str, body: dict[str, Any], provenance: bool, inputs: Any,
                parameters: dict[str, Any] | None) -> CatalogueObject:
        made = CLASSES[kind](self, self.http.json("POST", f"{kind}s", json={k: v for k, v in body.items()
                                                                            if v is not None}))
        if provenance:
            made.record_provenance(inputs=inputs if inputs is not None else [], parameters=parameters)
        return made

    def create_project(self, name: str, description: str = "", *, group: int | None = None,
                       provenance: bool = True, parameters: dict[str, Any] | None = None) -> Project:
        """A new project (in your default group unless ``group`` is given), with its provenance."""
        return self._create("project", {"name": name, "description": description, "group_id": group},
                            provenance, None, parameters)  # type: ignore[return-value]

    def create_dataset(self, name: str, description: str = "", *, project: Project | int | None = None,
                       group: int | None = None, provenance: bool = True,
                       parameters: dict[str, Any] | None = None) -> Dataset:
        """A new dataset, in ``project`` if given, with its provenance."""
        project_id = project.id if isinstance(project, Project) else project
        return self._create("dataset", {"name": name, "description": description, "group_id": group,
                                        "project_id": project_id},
                            provenance, None, parameters)  # type: ignore[return-value]

    def close(self) -> None:
        """Release the connections (also done when the object is garbage)."""
        for closer in self._closers:
            closer()
        self.http.close()

    def __enter__(self) -> Hub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<scopehub {self.info.get('version')} at {self.url} as {self.username} ({self.mode})>"

    def _repr_html_(self) -> str:
        import html

        return (f"<div><b>scopehub</b> {html.escape(str(self.info.get('version')))} at "
                f"<code>{html.escape(self.url)}</code> as <b>{html.escape(self.username)}</b> ({self.mode}; found by "
                f"{html.escape(self.endpoint.found_by)})</div>")
