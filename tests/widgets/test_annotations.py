"""Tags, key-value maps, comments, ratings and attachments from Python, round trip through the server."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import scopehub

from ..api_client import Api, unique


@pytest.fixture
def image(hub: scopehub.Hub, api: Api):
    return hub.image(api.ok("POST", "images", json={"name": unique("annotated")})["id"])


def test_tags_are_reused_listed_and_removed(hub: scopehub.Hub, api: Api, image) -> None:
    word = unique("mitosis")
    tag = image.add_tag(word, description="cells dividing")
    other = hub.image(api.ok("POST", "images", json={"name": unique("second")})["id"])
    again = other.add_tag(word)
    assert again.id == tag.id  # your tag of that name, reused as in OMERO
    assert image.add_tag(word).id == tag.id  # tagging twice changes nothing
    image.add_tag("**")
    assert image.add_tag("**").id == image.annotations("tag")[-1].id  # a name without words is found too
    assert sorted(image.tags) == sorted([word, "**"])
    image.remove_tag(word)
    assert image.tags == ["**"] and other.tags == [word]  # the tag itself stays
    with pytest.raises(scopehub.NotFound, match=f"has no tag '{word}'"):
        image.remove_tag(word)
    # From the server's side, independently of the client.
    on_other = api.ok("GET", "annotations", params={"on": f"image:{other.id}"})["items"]
    assert [(a["type"], a["value"]) for a in on_other] == [("tag", word)]


def test_maps_comments_and_ratings(hub: scopehub.Hub, api: Api, image) -> None:
    made = image.add_map({"stain": "DAPI", "magnification": 40}, namespace="acquisition")
    image.add_map([("stain", "GFP"), ("stain", "mCherry")])
    assert made.value == [("stain", "DAPI"), ("magnification", "40")] and made.namespace == "acquisition"
    assert image.key_values == [("stain", "DAPI"), ("magnification", "40"), ("stain", "GFP"), ("stain", "mCherry")]
    assert [m.as_dict() for m in image.maps][1] == {"stain": "mCherry"}
    image.add_comment("nice cells, some out of focus")
    assert image.comments == ["nice cells, some out of focus"]
    assert image.rating is None
    image.rate(3)
    image.rate(5)
    assert image.rating == 5
    ratings = api.ok("GET", "annotations", params={"on": f"image:{image.id}", "type": "rating"})["items"]
    assert [r["value"] for r in ratings] == [5]  # the earlier rating went
    with pytest.raises(scopehub.BadRequest, match="a rating's value is a whole number from 1 to 5"):
        image.rate(6)
    assert sorted(a.type for a in image.annotations()) == ["comment", "map", "map", "rating"]
    comment = image.annotations("comment")[0]
    image.remove_annotation(comment)
    assert image.comments == []
    frame = hub.annotations(type="map", owner="me").to_pandas()
    assert made.id in frame.index


def test_attachments_round_trip_byte_for_byte(hub: scopehub.Hub, image, tmp_path: Path) -> None:
    protocol = tmp_path / "protocol.pdf"
    protocol.write_bytes(b"%PDF-1.4 " + bytes(range(256)) * 40)
    attached = image.attach(protocol, description="staining protocol")
    inline = image.attach(b"a,b\n1,2\n", name="table.csv")
    assert attached.data["file"]["sha256"] == hashlib.sha256(protocol.read_bytes()).hexdigest()
    assert attached.data["file"]["mimetype"] == "application/pdf"
    assert [a.value for a in image.attachments] == ["protocol.pdf", "table.csv"]
    assert image.attachments[0].read() == protocol.read_bytes()
    saved = inline.save(tmp_path)
    assert saved == tmp_path / "table.csv" and saved.read_bytes() == b"a,b\n1,2\n"
    with pytest.raises(ValueError, match="needs a name"):
        image.attach(b"x")
    inline.delete()
    assert [a.value for a in image.attachments] == ["protocol.pdf"]
