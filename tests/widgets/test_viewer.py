"""The Viewer's Python side: its traits, what it sends the front-end, and what it asks of a real server."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import traitlets

import scopehub
from scopehub.widgets import Viewer
from scopehub.widgets.shapes import unpack

from .conftest import Lab
from .lab import import_array


@pytest.fixture(scope="module")
def client(lab: Lab) -> scopehub.Hub:
    return lab.connect()


@pytest.fixture(scope="module")
def image(lab: Lab) -> dict:
    """Three channels and four z-sections, small: for settings saved from Python."""
    data = np.random.default_rng(1).integers(0, 1000, (3, 4, 64, 80), dtype=np.uint16)
    return import_array(lab.api, data, "stack.tif", "Project:Widget tests/Dataset:Python", axes="CZYX")


class Sent(list):
    def __call__(self, content: dict, buffers: list[bytes] | None = None) -> None:
        self.append((content, buffers or []))


def test_image_from_an_id_a_dict_or_an_object_with_id() -> None:
    assert Viewer(5).image_id == 5
    assert Viewer({"id": 6, "name": "x"}).image_id == 6
    assert Viewer(SimpleNamespace(id=7)).image_id == 7
    for bad in ("7", 0, -1, True, SimpleNamespace(name="no id"), 2.0):
        with pytest.raises(TypeError):
            Viewer(bad)


@pytest.mark.parametrize("name, value", [("transport", "websocket"), ("tool", "lasso"), ("projection", "max")])
def test_traits_refuse_values_the_front_end_does_not_know(name: str, value: str) -> None:
    with pytest.raises(traitlets.TraitError):
        Viewer(1, **{name: value})


def test_goto_moves_the_view_and_the_plane() -> None:
    viewer = Viewer(1, view={"x": 1.0, "y": 2.0, "zoom": 0.5, "width": 600, "height": 400})
    viewer.goto(x=100, zoom=2)
    assert viewer.view == {"x": 100.0, "y": 2.0, "zoom": 2.0, "width": 600, "height": 400}
    viewer.goto(shape={"type": "rectangle", "x": 10, "y": 20, "width": 30, "height": 40, "z": 3, "t": 1})
    assert (viewer.view["x"], viewer.view["y"], viewer.z, viewer.t) == (25.0, 40.0, 3, 1)
    viewer.goto(shape={"type": "polygon", "points": [[0, 0], [10, 0], [4, 8]]}, zoom=4)
    assert (viewer.view["x"], viewer.view["y"], viewer.view["zoom"], viewer.z) == (5.0, 4.0, 4.0, 3)


def test_show_rois_sends_columns_and_again_when_the_front_end_is_ready() -> None:
    viewer = Viewer(1)
    viewer.send = sent = Sent()
    shapes = [{"type": "rectangle", "x": i, "y": 2 * i, "width": 5, "height": 6, "z": 0} for i in range(1000)]
    assert viewer.show_rois(shapes, color="#FF00FF") == 1000
    content, buffers = sent[-1]
    assert content["type"] == "rois" and content["count"] == 1000 and len(buffers) == 6
    assert unpack(content, buffers)[999]["x"] == 999 and viewer.shown_rois[0]["stroke"] == "#FF00FF"
    # A front-end that renders later (a second view, a reload) asks, and gets them.
    viewer._handle_custom_msg({"type": "ready"}, [])
    assert len(sent) == 2 and sent[1][0]["count"] == 1000
    assert viewer.show_rois([{"type": "point", "x": 1, "y": 1}], replace=False) == 1001
    viewer.clear_rois()
    assert sent[-1][0]["count"] == 0 and viewer.shown_rois == []


def test_another_image_starts_afresh() -> None:
    viewer = Viewer(1, channels=[{"name": "a"}], rois=[{"type": "point", "x": 1, "y": 1}], z=2,
                    view={"x": 1, "y": 1, "zoom": 1})
    viewer.show_rois([{"type": "point", "x": 1, "y": 1}])
    viewer.image_id = 2
    assert (viewer.channels, viewer.rois, viewer.view, viewer.z, viewer.shown_rois) == ([], [], {}, 0, [])


def test_channels_come_from_the_api_and_settings_go_back(client: scopehub.Hub, image: dict) -> None:
    viewer = Viewer(client.image(image["id"]))
    viewer.set_channel(1, active=False, color="#00ffff", window=(10, 900))
    assert [c["name"] for c in viewer.channels] == [c["name"] for c in image["channels"]]
    c = viewer.channels[1]
    assert (c["active"], c["color"], c["start"], c["end"]) == (False, "00FFFF", 10.0, 900.0)
    assert viewer.channels[0]["min"] == image["channels"][0]["min"]
    viewer.goto(z=2)
    viewer.projection = "intmax"
    reply = viewer.save_rendering()
    assert reply["saved"] is True
    saved = client.http.get(f"images/{image['id']}/rendering")["settings"]
    assert saved["channels"][1] == {"active": False, "start": 10.0, "end": 900.0, "color": "00FFFF", "inverted": False}
    assert (saved["z"], saved["projection"]) == (2, "intmax")
    # A new viewer of the image starts from what was saved.
    again = Viewer(image["id"], hub=client)
    again.load_rendering()
    assert again.channels[1]["active"] is False and again.z == 2 and again.projection == "intmax"


def test_bad_channel_edits_are_refused(client: scopehub.Hub, image: dict) -> None:
    viewer = Viewer(client.image(image["id"]))
    with pytest.raises(IndexError, match="has 3"):
        viewer.set_channel(3, active=True)
    with pytest.raises(ValueError, match="below its start"):
        viewer.set_channel(0, window=(100, 10))


def test_without_a_server_python_side_actions_say_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SCOPEHUB_URL", "SCOPEHUB_TOKEN", "JUPYTERHUB_API_TOKEN", "SCOPEHUB_SERVICE_URL",
                 "JUPYTERHUB_SERVICE_URL", "JPY_PARENT_PID", "JUPYTER_SERVER_URL"):
        monkeypatch.delenv(name, raising=False)
    viewer = Viewer(1)  # made and shown without a server: it looks for one only when Python needs it
    with pytest.raises(scopehub.ConnectionFailed, match=r"scopehub.connect\(url, token\)"):
        viewer.save_rendering()


def test_the_client_given_or_found_is_the_one_used(lab: Lab, client: scopehub.Hub, image: dict,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    assert Viewer(client.image(image["id"])).hub is client
    assert Viewer(image["id"], hub=client).hub is client
    with pytest.raises(TypeError, match="scopehub.Hub"):
        Viewer(image["id"], hub="http://elsewhere/")
    # No client given: found as connect() finds it (here from SCOPEHUB_URL), once.
    monkeypatch.setenv("SCOPEHUB_URL", lab.url)
    monkeypatch.setenv("SCOPEHUB_TOKEN", lab.token)
    viewer = Viewer(image["id"])
    assert viewer.hub is viewer.hub and viewer.hub.username == "maria"
    assert viewer.hub.url == lab.url + "scopehub/api/v1/"


def test_save_rois_posts_the_drawn_shapes(client: scopehub.Hub, image: dict) -> None:
    drawn = [{"id": "new-1", "type": "rectangle", "x": 1, "y": 2, "width": 3, "height": 4, "z": 0, "t": 0,
              "roi_id": None},
             {"id": "new-2", "type": "point", "x": 5, "y": 6, "z": 1, "t": 0, "roi_id": None}]
    viewer = Viewer(client.image(image["id"]), rois=drawn)
    ids = viewer.save_rois()
    assert len(ids) == 2 and [s["roi_id"] for s in viewer.rois] == ids
    assert viewer.save_rois() == []  # saved shapes are not saved twice
    stored = [client.http.get(f"rois/{roi_id}") for roi_id in ids]
    assert [(r["image_id"], r["shape_count"]) for r in stored] == [(image["id"], 1)] * 2
    rect, point = stored[0]["shapes"][0], stored[1]["shapes"][0]
    assert {k: rect[k] for k in ("type", "x", "y", "width", "height", "z", "t")} == {
        "type": "rectangle", "x": 1, "y": 2, "width": 3, "height": 4, "z": 0, "t": 0}
    assert (point["type"], point["x"], point["y"], point["z"]) == ("point", 5, 6, 1)
    # One that the API refuses (z beyond the image's 4 sections): nothing saved, nothing marked saved.
    viewer.rois = [*viewer.rois, {"id": "new-3", "type": "point", "x": 1, "y": 1, "z": 9, "t": 0, "roi_id": None},
                   {"id": "new-4", "type": "point", "x": 2, "y": 2, "z": 0, "t": 0, "roi_id": None}]
    with pytest.raises(scopehub.BadRequest):
        viewer.save_rois()
    assert [s["roi_id"] for s in viewer.rois[2:]] == [None, None]
    assert client.http.get(f"images/{image['id']}/rois")["total"] == 2
