"""The comm fallback's kernel side: requests relayed to a real server, answered as binary buffers."""

from __future__ import annotations

import json
import time

import pytest

import scopehub
from scopehub.widgets import Viewer
from scopehub.widgets.relay import RequestRelay

from .conftest import Lab


class Outbox:
    """Stands in for the widget's comm: what the relay would send to the front-end."""

    def __init__(self) -> None:
        self.sent: list[tuple[dict, list[bytes]]] = []

    def __call__(self, content: dict, buffers: list[bytes]) -> None:
        self.sent.append((content, buffers))

    def wait(self, n: int = 1, timeout: float = 30) -> list[tuple[dict, list[bytes]]]:
        deadline = time.monotonic() + timeout
        while len(self.sent) < n and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(self.sent) >= n, f"{len(self.sent)} replies of {n}"
        return self.sent


@pytest.fixture(scope="module")
def client(lab: Lab) -> scopehub.Hub:
    return lab.connect()


def test_tile_relayed_is_the_render_routes_own_bytes(lab: Lab, client: scopehub.Hub, cells_image: dict) -> None:
    outbox = Outbox()
    relay = RequestRelay(outbox, lambda: client)
    query = "tile=1,0,0&c=1|0:4095$FF0000,2|0:4095$00FF00&m=c&p=normal&z=0&t=0"
    relay.answer_now({"type": "request", "id": 5, "method": "GET", "path": f"images/{cells_image['id']}/render",
                      "query": query})
    content, buffers = outbox.sent[0]
    assert content == {"type": "reply", "id": 5, "status": 200, "content_type": "image/jpeg"}
    direct = lab.api.get(f"images/{cells_image['id']}/render?{query}")
    assert buffers[0] == direct.content and buffers[0][:2] == b"\xff\xd8"
    assert relay.answered == {"render": 1}


def test_writes_and_errors_pass_through(client: scopehub.Hub, cells_image: dict) -> None:
    outbox = Outbox()
    relay = RequestRelay(outbox, lambda: client)
    relay.answer_now({"type": "request", "id": 1, "method": "GET", "path": "images/999999999"})
    content, buffers = outbox.sent[0]
    assert content["status"] == 404 and content["content_type"].startswith("application/json")
    assert json.loads(buffers[0])["error"]["code"]
    settings = client.http.get(f"images/{cells_image['id']}/rendering")["settings"]
    relay.answer_now({"type": "request", "id": 2, "method": "PUT", "path": f"images/{cells_image['id']}/rendering",
                      "body": {"z": settings["z"]}})
    assert outbox.sent[1][0]["status"] == 200
    assert json.loads(outbox.sent[1][1][0])["saved"] is True


@pytest.mark.parametrize("path", ["../api/contents", "images/../../api/contents", "/etc/passwd",
                                  "http://example.org/x", "//example.org/x", "images/1/render?x=1", ""])
def test_only_paths_inside_the_api_are_relayed(client: scopehub.Hub, path: str) -> None:
    outbox = Outbox()
    asked = []
    relay = RequestRelay(outbox, lambda: asked.append(1) or client)
    relay.answer_now({"type": "request", "id": 3, "method": "GET", "path": path})
    content, buffers = outbox.sent[0]
    assert content["status"] == 400 and json.loads(buffers[0])["error"]["code"] == "bad_path"
    assert not asked, "the relay looked for a connection for a path it must refuse"


def test_bad_method_and_unreachable_api_are_answered(client: scopehub.Hub) -> None:
    outbox = Outbox()
    RequestRelay(outbox, lambda: client).answer_now({"type": "request", "id": 1, "method": "TRACE", "path": "me"})
    RequestRelay(outbox, lambda: scopehub.connect("http://127.0.0.1:9/", "t")).answer_now(
        {"type": "request", "id": 2, "method": "GET", "path": "me"})
    assert [c["status"] for c, _ in outbox.sent] == [400, 503]
    assert "could not reach scopehub" in json.loads(outbox.sent[1][1][0])["error"]["message"]


def test_cancelled_requests_get_no_reply(client: scopehub.Hub) -> None:
    outbox = Outbox()
    relay = RequestRelay(outbox, lambda: client)
    assert relay.handle({"type": "cancel", "id": 8})
    relay.answer_now({"type": "request", "id": 8, "method": "GET", "path": "me"})
    relay.answer_now({"type": "request", "id": 9, "method": "GET", "path": "me"})
    assert [c["id"] for c, _ in outbox.sent] == [9]
    assert not relay.handle({"type": "ready"})


def test_a_viewers_comm_messages_are_relayed_off_the_kernels_thread(client: scopehub.Hub,
                                                                    cells_image: dict) -> None:
    viewer = Viewer(client.image(cells_image["id"]), transport="comm")
    assert viewer.hub is client  # the Image's own client
    outbox = Outbox()
    viewer.send = outbox  # the comm has no front-end here: keep what would go to it
    for i in range(8):
        viewer._handle_custom_msg({"type": "request", "id": i, "method": "GET",
                                   "path": f"images/{cells_image['id']}/thumbnail", "query": f"size={32 + i}"}, [])
    replies = outbox.wait(8)
    assert sorted(c["id"] for c, _ in replies) == list(range(8))
    assert all(c["status"] == 200 and b[0][:2] == b"\xff\xd8" for c, b in replies)
    viewer.close()
