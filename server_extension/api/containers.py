"""Projects, datasets, images, screens and plates: one handler class per kind of resource."""

from __future__ import annotations

from ..catalogue.containers import ContainerManager
from ..catalogue.graph import OPTIONAL_ANNOTATIONS, GraphManager
from ..catalogue.plates import WellManager
from . import schemas as s
from .base import ScopehubHandler, operation, path_id

LIST_QUERY = ("offset", "limit", "owner", "group", "q", "order")
containers = ContainerManager()
graph = GraphManager()


class ContainerListHandler(ScopehubHandler):
    """``B/{kind}s``: list with paging and filters, or create."""

    kind: str
    create_model: type[s.ProjectCreate]
    parent_field: str | None = None  # the create body's field naming the parent, e.g. project_id
    parent_arg: str | None = None  # the list query's parent filter, e.g. ?project=

    @operation("List the {kind}s you can see", reply="page", query=(*LIST_QUERY, "parent", "orphaned"))
    async def get(self) -> None:
        page = await self.call(containers.list, self.kind, self.list_query(self.parent_arg))
        self.reply(page.as_reply())

    @operation("Create a {kind}", body="create_model", reply="item", status=201, errors=(403, 404))
    async def post(self) -> None:
        fields = self.fields(self.create_model)
        if self.parent_field:
            fields["parent_id"] = fields.pop(self.parent_field, None)
        self.reply(await self.call(containers.create, self.kind, fields), 201)


class ContainerHandler(ScopehubHandler):
    """``B/{kind}s/{id}``: read, edit (incl. change owner or group), delete with OMERO's graph rules."""

    kind: str

    @operation("Get a {kind}", reply="item", errors=(404,))
    async def get(self, obj_id: str) -> None:
        self.reply(await self.call(containers.get, self.kind, path_id(obj_id)))

    @operation("Edit, give away or move a {kind}", body=s.ContainerUpdate, reply="item", errors=(403, 404, 409))
    async def patch(self, obj_id: str) -> None:
        fields = self.fields(s.ContainerUpdate)
        version = self.expected_version(fields)
        self.reply(await self.call(containers.update, self.kind, path_id(obj_id), fields, version))

    @operation("Delete a {kind} and what it alone holds", reply=s.DeleteReport, query=("dry_run", "include"),
               errors=(403, 404))
    async def delete(self, obj_id: str) -> None:
        """Children linked elsewhere stay. ``include=tag,file`` also deletes tags and attachments
        that annotate nothing else; ``dry_run=1`` only reports."""
        include = tuple(x for x in (self.get_query_argument("include", "") or "").split(",") if x)
        report = await self.call(graph.delete, self.kind, path_id(obj_id), dry_run=self.bool_arg("dry_run"),
                                 include=include)
        self.reply(report)


class ContainerLinkHandler(ScopehubHandler):
    """``B/{kind}s/{id}/{child}s/{child_id}``: link or unlink a child."""

    kind: str

    @operation("Link a {child} into a {kind}", reply=s.LinkOut, errors=(400, 403, 404))
    async def put(self, obj_id: str, child_id: str) -> None:
        self.reply(await self.call(containers.link, self.kind, path_id(obj_id), path_id(child_id)))

    @operation("Unlink a {child} from a {kind}", status=204, errors=(403, 404))
    async def delete(self, obj_id: str, child_id: str) -> None:
        await self.call(containers.unlink, self.kind, path_id(obj_id), path_id(child_id))
        self.set_status(204)
        self.finish()


class WellsHandler(ScopehubHandler):
    """``B/plates/{id}/wells``: a plate's wells and the images in them."""

    @operation("List a plate's wells", reply=s.page_of(s.WellOut), query=("offset", "limit"), errors=(404,))
    async def get(self, plate_id: str) -> None:
        page = await self.call(WellManager().list, path_id(plate_id), self.list_query())
        self.reply(page.as_reply())

    @operation("Add a well to a plate", body=s.WellCreate, reply=s.WellOut, status=201, errors=(403, 404, 409))
    async def post(self, plate_id: str) -> None:
        well = await self.call(WellManager().create, path_id(plate_id), self.fields(s.WellCreate))
        self.reply(well, 201)


def container_handlers() -> list[tuple[str, type]]:
    """Concrete handler classes for every kind, with the URL patterns they serve."""
    creates = {"project": (s.ProjectCreate, None, None), "dataset": (s.DatasetCreate, "project_id", "project"),
               "image": (s.ImageCreate, "dataset_id", "dataset"), "screen": (s.ScreenCreate, None, None),
               "plate": (s.PlateCreate, "screen_id", "screen")}
    routes = []
    for kind, (model, parent_field, parent_arg) in creates.items():
        title = kind.capitalize()
        routes.append((f"{kind}s", type(f"{title}sHandler", (ContainerListHandler,), {
            "kind": kind, "create_model": model, "parent_field": parent_field, "parent_arg": parent_arg})))
        routes.append((rf"{kind}s/(\d+)", type(f"{title}Handler", (ContainerHandler,), {"kind": kind})))
    for kind, child in (("project", "dataset"), ("dataset", "image"), ("screen", "plate")):
        routes.append((rf"{kind}s/(\d+)/{child}s/(\d+)", type(
            f"{kind.capitalize()}{child.capitalize()}LinkHandler", (ContainerLinkHandler,),
            {"kind": kind, "child": child})))
    routes.append((r"plates/(\d+)/wells", WellsHandler))
    return routes


__all__ = ["OPTIONAL_ANNOTATIONS", "container_handlers"]
