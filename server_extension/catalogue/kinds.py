"""The kinds of catalogue object the API names, and how containers hold each other."""

from __future__ import annotations

from dataclasses import dataclass

from . import models as m


@dataclass(frozen=True)
class Kind:
    """One kind of named object: its model, and the link tables to its parents and children."""

    name: str
    model: type
    parent: str | None = None
    parent_link: type | None = None
    child: str | None = None
    child_link: type | None = None


KINDS: dict[str, Kind] = {
    "project": Kind("project", m.Project, child="dataset", child_link=m.ProjectDatasetLink),
    "dataset": Kind("dataset", m.Dataset, parent="project", parent_link=m.ProjectDatasetLink,
                    child="image", child_link=m.DatasetImageLink),
    "image": Kind("image", m.Image, parent="dataset", parent_link=m.DatasetImageLink),
    "screen": Kind("screen", m.Screen, child="plate", child_link=m.ScreenPlateLink),
    "plate": Kind("plate", m.Plate, parent="screen", parent_link=m.ScreenPlateLink),
}

# What ``?on=well:3`` and ``B/wells/{id}/annotations/...`` may name, beyond the named kinds.
ANNOTATABLE = {**{k: v.model for k, v in KINDS.items()}, "well": m.Well, "annotation": m.Annotation}


def kind(name: str) -> Kind:
    return KINDS[name]
