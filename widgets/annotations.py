"""Annotations: tags, key-value maps, comments, ratings and attached files, read and written from Python.

``image.tags`` lists the tags' names; ``image.add_tag("mitosis")`` links your tag of that name (made
when you have none, reused when you do, as OMERO does); ``image.add_map({"stain": "DAPI"})``,
``image.add_comment(...)``, ``image.rate(4)``, ``image.attach("protocol.pdf")``. Every annotation
is also an object (``image.annotations()``) that can be unlinked or deleted.
"""

from __future__ import annotations

import mimetypes
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import Hub


class Annotation:
    """One annotation: ``type`` (tag, tagset, map, comment, rating, file), its value, owner and links."""

    def __init__(self, hub: Hub, data: dict[str, Any]):
        self._hub = hub
        self.data = data

    @property
    def id(self) -> int:
        return self.data["id"]

    @property
    def type(self) -> str:
        return self.data["type"]

    @property
    def value(self) -> Any:
        """A tag's name, a comment's text, a rating; a map's pairs; a file's name."""
        if self.type == "map":
            return [tuple(pair) for pair in self.data.get("values") or []]
        if self.type == "file":
            return (self.data.get("file") or {}).get("name")
        return self.data.get("value")

    @property
    def namespace(self) -> str:
        return self.data.get("namespace", "")

    @property
    def owner(self) -> str:
        return self.data["owner"]["username"]

    def as_dict(self) -> dict[str, str]:
        """A map's pairs as a dictionary (a repeated key keeps its last value)."""
        return dict(self.value) if self.type == "map" else {}

    def read(self) -> bytes:
        """An attached file's bytes."""
        if self.type != "file":
            raise TypeError(f"annotation {self.id} is a {self.type}, not a file")
        return self._hub.http.request("GET", f"annotations/{self.id}/file").content

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write an attached file to ``path`` (a folder keeps the file's name); returns where it went."""
        target = Path(path)
        if target.is_dir():
            target = target / Path(self.value).name
        with self._hub.http.request("GET", f"annotations/{self.id}/file", stream=True) as response, \
                open(target, "wb") as out:
            for block in response.iter_content(1 << 20):
                out.write(block)
        return target

    def delete(self) -> None:
        """Delete the annotation itself (from everything it annotates)."""
        self._hub.http.request("DELETE", f"annotations/{self.id}")

    def row(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "value": self.value, "namespace": self.namespace,
                "owner": self.owner}

    def __repr__(self) -> str:
        return f"<{self.type} {self.id} {self.value!r}>"


class Annotatable:
    """What every catalogue object can do with annotations (``self.target`` is ``image:12``)."""

    _hub: Hub
    target: str
    path: str
    group_id: int

    def annotations(self, type: str | None = None) -> list[Annotation]:
        """The annotations on this object that you can see, of one ``type`` or all."""
        out: list[Annotation] = []
        offset = 0
        while True:
            page = self._hub.http.get("annotations", on=self.target, type=type, offset=offset, limit=1000,
                                      order="id")
            out += [Annotation(self._hub, item) for item in page["items"]]
            offset += len(page["items"])
            if not page["items"] or offset >= page["total"]:
                return out

    # ---- tags -------------------------------------------------------------------------------
    @property
    def tags(self) -> list[str]:
        """The names of the tags on this object."""
        return [a.value for a in self.annotations("tag")]

    def add_tag(self, name: str, description: str = "") -> Annotation:
        """Tag this object: your tag of this name in the object's group is reused, else made."""
        existing = self._my_tag(name)
        if existing is None:
            return self._create({"type": "tag", "value": name, "description": description})
        self._hub.http.request("PUT", f"{self.path}/annotations/{existing.id}")
        return existing

    def remove_tag(self, name: str) -> None:
        """Unlink the tags of this name from this object (the tags themselves stay)."""
        found = [a for a in self.annotations("tag") if a.value == name]
        if not found:
            from .errors import NotFound

            raise NotFound(f"{self.target} has no tag {name!r}", code="not_found")
        for tag in found:
            self.remove_annotation(tag)

    def _my_tag(self, name: str) -> Annotation | None:
        me = self._hub.user_id
        # By its words first (one small reply); a name with no words in it (``"**"``) by a full listing.
        for q in ((name,) if re.search(r"\w", name) else (None,)):
            offset = 0
            while True:
                page = self._hub.http.get("annotations", type="tag", q=q, owner=me, group=self.group_id,
                                          offset=offset, limit=1000, order="id")
                found = next((a for a in page["items"] if a["value"] == name), None)
                if found is not None:
                    return Annotation(self._hub, found)
                offset += len(page["items"])
                if not page["items"] or offset >= page["total"]:
                    break
        return None

    # ---- key-value maps ---------------------------------------------------------------------
    @property
    def maps(self) -> list[Annotation]:
        """The key-value maps on this object (``.value`` is their ordered pairs, ``.as_dict()``)."""
        return self.annotations("map")

    @property
    def key_values(self) -> list[tuple[str, str]]:
        """Every key-value pair on this object, map after map, in order (keys may repeat)."""
        return [pair for a in self.maps for pair in a.value]

    def add_map(self, values: Mapping[str, Any] | Iterable[tuple[str, Any]], namespace: str = "") -> Annotation:
        """A new key-value map on this object; values become text; pairs keep their order."""
        pairs = values.items() if isinstance(values, Mapping) else values
        return self._create({"type": "map", "values": [[str(k), str(v)] for k, v in pairs], "namespace": namespace})

    # ---- comments and ratings ---------------------------------------------------------------
    @property
    def comments(self) -> list[str]:
        return [a.value for a in self.annotations("comment")]

    def add_comment(self, text: str) -> Annotation:
        return self._create({"type": "comment", "value": text})

    @property
    def rating(self) -> int | None:
        """Your rating (1 to 5) of this object, or None."""
        me = self._hub.username
        mine = [a for a in self.annotations("rating") if a.owner == me]
        return mine[-1].value if mine else None

    def rate(self, value: int) -> Annotation:
        """Rate this object from 1 to 5 (your earlier rating goes)."""
        me = self._hub.username
        old = [a for a in self.annotations("rating") if a.owner == me]
        made = self._create({"type": "rating", "value": int(value)})
        for a in old:
            a.delete()
        return made

    # ---- files ------------------------------------------------------------------------------
    @property
    def attachments(self) -> list[Annotation]:
        """Files attached to this object (``.read()``, ``.save(path)``)."""
        return self.annotations("file")

    def attach(self, file: str | os.PathLike[str] | bytes, name: str | None = None, description: str = "",
               namespace: str = "") -> Annotation:
        """Attach a file (a path, or bytes with a ``name``); it is kept byte for byte with its sha256."""
        if isinstance(file, bytes):
            if not name:
                raise ValueError("attaching bytes needs a name")
            content, filename = file, name
        else:
            filename = name or Path(file).name
            content = Path(file).read_bytes()
        media = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        reply = self._hub.http.json(
            "POST", "annotations", files={"file": (filename, content, media)},
            data={"on": self.target, "description": description, "namespace": namespace})
        return Annotation(self._hub, reply)

    # ---- removing ---------------------------------------------------------------------------
    def remove_annotation(self, annotation: Annotation | int) -> None:
        """Unlink an annotation from this object (it stays on anything else it annotates)."""
        ann_id = annotation.id if isinstance(annotation, Annotation) else int(annotation)
        self._hub.http.request("DELETE", f"{self.path}/annotations/{ann_id}")

    def _create(self, body: dict[str, Any]) -> Annotation:
        return Annotation(self._hub, self._hub.http.json("POST", "annotations", json={**body, "on": [self.target]}))
