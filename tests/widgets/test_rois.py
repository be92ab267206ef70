"""ROIs from Python: shape classes round-trip, lists by plane and region (paged, as DataFrames), bulk
creation all or nothing across batches, label images to masks, edits, deletion, and the server's
refusals as exceptions."""

from __future__ import annotations

import numpy as np
import pytest

import scopehub
from scopehub.widgets import rois as client_rois

from ..api_client import Api, make_team, unique
from .conftest import make_data

EVERY_TYPE = [
    scopehub.Rectangle(10.5, 20, 30, 40, z=1, t=0, c=2, stroke_color="#ff0000", fill_color=(0, 255, 0, 128),
                       stroke_width=2.5, text="cell 1", font_size=14),
    scopehub.Ellipse(50, 60, 5, 8.5, z=0),
    scopehub.Point(-3.5, 0.001),
    scopehub.Line(0, 0, 100.125, 50),
    scopehub.Polyline([(0, 0), (10, 10), (20, 0)], t=1),
    scopehub.Polygon(np.array([[0, 0], [10, 10], [20, 0], [5, -5]]), text="nucleus"),
    scopehub.Label(5, 5, text="Mitosis ✔", font_size=12),
    scopehub.Mask(np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0]], dtype=bool), x=100, y=200),
]


@pytest.fixture
def image(hub: scopehub.Hub, api: Api) -> scopehub.widgets.Image:
    return hub.image(api.ok("POST", "images", json={"name": unique("rois")})["id"])


def same_shape(got: client_rois.Shape, sent: client_rois.Shape) -> bool:
    a, b = got.to_dict(), sent.to_dict()
    defaults = {"stroke_color": "FFFF00FF", "fill_color": "00000000", "stroke_width": 1.0, "text": ""}
    return {**defaults, **b} == {**defaults, **a} and got.id is not None


def test_every_shape_class_round_trips(hub: scopehub.Hub, api: Api, image) -> None:
    ids = image.add_rois([{"name": "all", "description": "one of each", "shapes": EVERY_TYPE}])
    [roi] = image.rois()
    assert roi.id == ids[0] and roi.name == "all" and roi.shape_count == 8 and roi.owner == "admin"
    for got, sent in zip(roi.shapes, EVERY_TYPE, strict=True):
        assert type(got) is type(sent) and same_shape(got, sent), (got, sent)
    assert roi.shapes[0].stroke_color == "FF0000FF" and roi.shapes[0].fill_color == "00FF0080"
    assert np.array_equal(roi.shapes[-1].mask, EVERY_TYPE[-1].mask)
    # From the server's side, independently of the client's decoding.
    raw = api.ok("GET", f"rois/{roi.id}")["shapes"]
    assert raw[5]["points"] == [[0.0, 0.0], [10.0, 10.0], [20.0, 0.0], [5.0, -5.0]] and raw[6]["text"] == "Mitosis ✔"
    assert hub.roi(roi.id).shapes[3] == roi.shapes[3]


def test_items_may_be_shapes_dicts_or_lists(image) -> None:
    ids = image.add_rois([scopehub.Point(1, 2), {"type": "point", "x": 3, "y": 4},
                          [scopehub.Point(5, 6), {"type": "line", "x1": 0, "y1": 0, "x2": 1, "y2": 1}],
                          {"name": "named", "shapes": [scopehub.Point(7, 8)]}])
    got = {r.id: r for r in image.rois()}
    assert [got[i].shape_count for i in ids] == [1, 1, 2, 1] and got[ids[3]].name == "named"
    assert image.add_rois([]) == []
    with pytest.raises(TypeError, match="a ROI is a shape"):
        image.add_rois([42])


def test_plane_and_region_filters_and_dataframes(image) -> None:
    image.add_rois([scopehub.Rectangle(0, 0, 10, 10, z=0), scopehub.Rectangle(100, 100, 10, 10, z=1),
                    scopehub.Point(500, 500), [scopehub.Point(5, 5, z=1), scopehub.Point(105, 105, z=0)]])
    assert len(image.rois()) == 4
    on_z0 = image.rois(z=0)
    assert sorted(len(r.shapes) for r in on_z0) == [1, 1, 1]  # the z=1 rectangle is out; the pair keeps one point
    corner = image.rois(region=(0, 0, 20, 20))
    assert sorted(r.shape_count for r in corner) == [1, 2]
    both = image.rois(z=0, region=(0, 0, 20, 20))
    assert [len(r.shapes) for r in both] == [1] and both[0].shapes[0].type == "rectangle"
    frame = image.rois(region=(90, 90, 30, 30)).to_pandas()
    assert list(frame.columns[:5]) == ["image", "name", "owner", "shapes", "types"]
    assert frame["types"].tolist() == ["rectangle", "point"]
    assert frame[["x_min", "y_min", "x_max", "y_max"]].iloc[0].tolist() == [100, 100, 110, 110]
    assert frame["z"].tolist() == [1, 0]
    assert "where region=" in repr(image.rois(region=(1, 2, 3, 4)))
    with pytest.raises(ValueError, match="region is"):
        image.rois(region=(1, 2, 3))


def test_lists_page_lazily(hub: scopehub.Hub, image) -> None:
    ids = image.add_rois([scopehub.Point(i, i) for i in range(client_rois.ROI_PAGE + 20)])
    rois = image.rois()
    assert len(rois) == len(ids) and rois[-1].id == ids[-1]
    assert [r.id for r in rois] == ids
    assert rois[client_rois.ROI_PAGE].shapes[0].x == client_rois.ROI_PAGE


def test_batches_are_all_or_nothing(image, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_rois, "BATCH_SHAPES", 3)
    good = [scopehub.Point(i, i) for i in range(7)]
    ids = image.add_rois(good)
    assert len(ids) == 7 and len(image.rois()) == 7  # three requests
    for roi in image.rois():
        roi.delete()
    # The last batch is refused: the ones before it are taken back.
    with pytest.raises(scopehub.BadRequest, match=r"^rois\.7\.shapes\.0\.point\.y: Field required"):
        image.add_rois([*good, {"type": "point", "x": 1}])
    assert len(image.rois()) == 0


def test_refusals_are_exceptions_with_the_servers_message(hub: scopehub.Hub, api: Api, image, stored) -> None:
    with pytest.raises(scopehub.BadRequest, match="a label needs a text"):
        image.add_rois([scopehub.Label(1, 1)])
    with pytest.raises(scopehub.BadRequest, match=r"shapes\.0\.polygon\.points"):
        image.add_rois([scopehub.Polygon([(0, 0), (1, 1)])])
    with pytest.raises(ValueError, match="point.x: nan is not a finite number"):
        image.add_rois([scopehub.Point(float("nan"), 0)])
    with pytest.raises(ValueError, match="polygon.points: inf is not a finite number"):
        image.add_rois([scopehub.Polygon([(0, 0), (1, float("inf")), (2, 0)])])
    with pytest.raises(ValueError, match="NaN or infinity"):
        image.add_rois([{"type": "point", "x": 0, "y": float("nan")}])
    with pytest.raises(ValueError, match="2-D"):
        scopehub.Mask(np.zeros((2, 2, 2), bool))
    with pytest.raises(ValueError, match="a colour is"):
        scopehub.Point(0, 0, stroke_color=(1, 2)).to_dict()
    with_pixels = hub.image(stored.add(api, make_data((1, 1, 2, 32, 32)), name=unique("planes"))["id"])
    with pytest.raises(scopehub.BadRequest, match=r"z: 2 is past the image's 2 z-sections"):
        with_pixels.add_rois([scopehub.Point(0, 0, z=2)])
    assert with_pixels.add_rois([scopehub.Point(0, 0, z=1)])
    # Seeing ROIs is seeing the image: in a private group, another member's image is not there for you;
    # in a read-only group you see its ROIs but may not draw.
    for level, refusal in (("private", scopehub.NotFound), ("read-only", scopehub.Forbidden)):
        team = make_team(api, level)
        made = team.alice.ok("POST", "images", json={"name": unique("alice's"), "group_id": team.group})["id"]
        with scopehub.connect(api.base, api.token, act_as=team.alice.act_as) as alice, \
                scopehub.connect(api.base, api.token, act_as=team.bob.act_as) as bob:
            alice.image(made).add_rois([scopehub.Point(1, 1)])
            seen_by_bob = scopehub.widgets.Image(bob, {"id": made, "name": "alice's"})
            if level == "private":
                with pytest.raises(scopehub.NotFound):
                    len(seen_by_bob.rois())
            else:
                assert len(seen_by_bob.rois()) == 1 and not seen_by_bob.rois()[0].can_delete
            with pytest.raises(refusal):
                seen_by_bob.add_rois([scopehub.Point(2, 2)])


def test_labels_become_masks(image) -> None:
    rng = np.random.default_rng(3)
    labels = np.zeros((60, 80), dtype=np.uint16)
    for value in (7, 2, 300):
        y, x = rng.integers(0, 50, 2)
        labels[y:y + rng.integers(2, 10), x:x + rng.integers(2, 30)] = value
    labels[59, 79] = 9  # a one-pixel label in the corner
    made = image.add_labels(labels, z=0, fill_color="#00ff0040")
    present = sorted(int(v) for v in np.unique(labels) if v)
    assert sorted(made) == present
    # Painting each ROI's mask back gives the label image again.
    painted = np.zeros_like(labels)
    for roi in image.rois():
        [mask] = roi.shapes
        assert mask.type == "mask" and mask.z == 0 and mask.fill_color == "00FF0040"
        value = int(roi.name.removeprefix("label "))
        assert made[value] == roi.id
        h, w = mask.mask.shape
        painted[int(mask.y):int(mask.y) + h, int(mask.x):int(mask.x) + w][mask.mask] = value
    assert np.array_equal(painted, labels)
    assert image.add_labels(np.zeros((4, 4), int)) == {}
    with pytest.raises(ValueError, match="2-D"):
        image.add_labels(np.zeros((2, 4, 4), int))
    with pytest.raises(ValueError, match="integers"):
        image.add_labels(np.zeros((4, 4), float))


def test_edit_and_delete(hub: scopehub.Hub, api: Api, image) -> None:
    first, second, third = image.add_rois([scopehub.Point(0, 0), scopehub.Point(1, 1), scopehub.Point(2, 2)])
    roi = hub.roi(first)
    stale = hub.roi(first)
    roi.update(name="renamed", shapes=[scopehub.Ellipse(5, 5, 2, 3)])
    assert hub.roi(first).name == "renamed" and [s.type for s in hub.roi(first).shapes] == ["ellipse"]
    with pytest.raises(scopehub.Conflict):
        stale.update(name="late")
    roi.delete()
    with pytest.raises(scopehub.NotFound):
        hub.roi(first)
    other = hub.image(api.ok("POST", "images", json={"name": unique("other")})["id"])
    [elsewhere] = other.add_rois([scopehub.Point(0, 0)])
    with pytest.raises(ValueError, match="not on image"):
        image.delete_rois([hub.roi(elsewhere)])
    assert image.delete_rois(image.rois()) == 2 and len(image.rois()) == 0
    # Deleting the image takes its ROIs along.
    other.delete()
    assert api.get(f"rois/{elsewhere}").status_code == 404
