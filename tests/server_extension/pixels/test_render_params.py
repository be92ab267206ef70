"""OMERO's rendering grammar: what parses, what it means, and the 400 every bad value gets."""

from __future__ import annotations

import pytest

from scopehub.server_extension.catalogue.errors import BadRequest
from scopehub.server_extension.pixels.render_params import (
    ChannelRender,
    ImageGeometry,
    RenderQuery,
    RenderSettings,
    View,
)

# 3 channels, 5 z-sections, 2 time points, 1300 × 1100 with levels 1300, 650, 325.
GEOMETRY = ImageGeometry(1300, 1100, 5, 3, 2, ((1300, 1100), (650, 550), (325, 275)), "uint16")
BASE = RenderSettings(
    (
        ChannelRender(True, 0, 4095, "FF0000"),
        ChannelRender(True, 10, 20, "00FF00"),
        ChannelRender(False, 0, 100, "0000FF"),
    ),
    "c",
    "normal",
    2,
    0,
)


def plan(**args: str):
    return RenderQuery.parse(args).plan(BASE, GEOMETRY)


def test_nothing_asked_is_the_saved_settings_over_the_whole_plane() -> None:
    p = plan()
    assert p.settings == BASE
    assert p.view == View(0, 0, 0, 1300, 1100)
    assert (p.format, p.quality, p.z_range) == ("jpeg", 90, (2, 2))


def test_channels_windows_colours_and_off() -> None:
    p = plan(c="1|100:505$ff0000,-2|0:4095$00FF00")
    a, b, c = p.settings.channels
    assert a == ChannelRender(True, 100, 505, "FF0000")
    assert b == ChannelRender(False, 0, 4095, "00FF00")  # off, but its window and colour still change
    assert c.active is False  # not listed: off
    # A token without window or colour keeps the saved ones; negative and fractional windows parse.
    a, b, _ = plan(c="2,1|-5.5:7.25").settings.channels
    assert (a.start, a.end, a.color, a.active) == (-5.5, 7.25, "FF0000", True)
    assert (b.start, b.end, b.color, b.active) == (10, 20, "00FF00", True)
    assert plan(c="3$fire.lut").settings.channels[2].color == "fire.lut"
    assert plan(c="1$FF00FF").settings.channels[0].color == "FF00FF"


def test_model_projection_quality_plane_and_format() -> None:
    p = plan(m="g", p="intmax", q="0.5", z="4", t="1", format="png")
    assert (p.settings.model, p.settings.projection, p.settings.z, p.settings.t) == ("g", "intmax", 4, 1)
    assert (p.z_range, p.quality, p.format) == ((0, 4), 50, "png")
    assert plan(p="intmean|1:3").z_range == (1, 3)
    assert plan(q="0").quality == 1 and plan(q="1").quality == 100
    assert plan(format="JPG").format == "jpeg"


def test_inverted_through_omero_maps() -> None:
    p = plan(maps='[{"inverted": {"enabled": true}}, null, {"reverse": {"enabled": false}}]')
    assert [c.inverted for c in p.settings.channels] == [True, False, False]


def test_regions_and_tiles() -> None:
    assert plan(region="10,20,30,40").view == View(0, 10, 20, 30, 40)
    assert plan(region="0,0,1300,1100").view == View(0, 0, 0, 1300, 1100)
    assert plan(tile="0,1,1").view == View(0, 512, 512, 512, 512)
    assert plan(tile="0,2,2").view == View(0, 1024, 1024, 276, 76)  # cut at the image's edge
    assert plan(tile="1,1,0").view == View(1, 512, 0, 138, 512)
    assert plan(tile="2,0,0").view == View(2, 0, 0, 325, 275)
    assert plan(tile="1,3,2,100,200").view == View(1, 300, 400, 100, 150)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"c": "9"}, "channel 9 does not exist: the image has 3 channels"),
        ({"c": "0"}, "channel 0 does not exist"),
        ({"c": "1|500:100"}, "window 500:100 of channel 1 starts above its end"),
        ({"c": "1|100"}, "is not START:END"),
        ({"c": "1|a:b"}, "must be a number"),
        ({"c": "1|nan:5"}, "finite"),
        ({"c": "1$GG0000"}, "neither RRGGBB hex nor a known lookup table"),
        ({"c": "1$nosuch.lut"}, "known lookup table"),
        ({"c": "1,1"}, "channel 1 is listed twice"),
        ({"c": "x"}, "is not CHANNEL"),
        ({"c": ""}, "c must list channels"),
        ({"z": "5"}, "z 5 is past the stack: the image has 5 z-sections"),
        ({"z": "-1"}, "z -1 is past the stack"),
        ({"z": "1.5"}, "z must be a whole number"),
        ({"t": "2"}, "t 2 is past the stack: the image has 2 time points"),
        ({"m": "x"}, "m must be c (colour) or g (greyscale)"),
        ({"p": "max"}, "p must be normal, intmax or intmean"),
        ({"p": "intmax|3:1"}, "z range 3:1"),
        ({"p": "intmax|0:5"}, "z range 0:5 reaches past the stack"),
        ({"p": "normal|0:1"}, "goes with intmax or intmean"),
        ({"q": "7"}, "q must be from 0 to 1"),
        ({"q": "-0.1"}, "q must be from 0 to 1"),
        ({"q": "high"}, "q must be a number"),
        ({"region": "0,0,1301,10"}, "reaches outside the image, which is 1300 × 1100"),
        ({"region": "-1,0,10,10"}, "reaches outside the image"),
        ({"region": "0,0,0,10"}, "at least 1"),
        ({"region": "1,2,3"}, "region must be x,y,w,h"),
        ({"tile": "3,0,0"}, "level 3 does not exist: the image has levels 0–2"),
        ({"tile": "0,3,0"}, "column 3, row 0 is outside level 0, which is 1300 × 1100 pixels: 3 × 3 tiles"),
        ({"tile": "0,-1,0"}, "outside level 0"),
        ({"tile": "0,0"}, "tile must be level,x,y"),
        ({"tile": "0,0,0,0,10"}, "width and height must be"),
        ({"tile": "0,0,0", "region": "0,0,1,1"}, "not both"),
        ({"format": "gif"}, "format must be jpeg or png"),
        ({"maps": "{"}, "maps must be a JSON list"),
        ({"maps": '[{"inverted": true}]'}, "maps[0].inverted"),
        ({"maps": "[null, null, null, null]"}, "maps: 4 entries"),
    ],
)
def test_bad_values_get_a_precise_400(args: dict[str, str], message: str) -> None:
    with pytest.raises(BadRequest) as e:
        plan(**args)
    assert message in e.value.message, e.value.message


def test_a_view_too_large_to_render_at_once() -> None:
    huge = ImageGeometry(20000, 20000, 1, 1, 1, ((20000, 20000), (10000, 10000)), "uint8")
    base = RenderSettings((ChannelRender(True, 0, 255, "FFFFFF"),))
    with pytest.raises(BadRequest, match="ask for tiles"):
        RenderQuery.parse({}).plan(base, huge)
    with pytest.raises(BadRequest, match="ask for tiles"):
        RenderQuery.parse({"region": "0,0,5000,5000"}).plan(base, huge)
    assert RenderQuery.parse({"tile": "1,0,0,4096,4096"}).plan(base, huge).view == View(1, 0, 0, 4096, 4096)


def test_settings_json_round_trip_and_checks() -> None:
    data = BASE.as_json()
    assert RenderSettings.from_json(data, GEOMETRY) == BASE
    assert RenderSettings.from_json({"z": 4}, GEOMETRY, base=BASE).z == 4
    with pytest.raises(BadRequest, match="one entry per channel: the image has 3 channels"):
        RenderSettings.from_json({"channels": data["channels"][:2]}, GEOMETRY, base=BASE)
    bad = [dict(c) for c in data["channels"]]
    bad[1]["start"] = 50
    with pytest.raises(BadRequest, match=r"channels\[1\]: window start 50 is above its end 20"):
        RenderSettings.from_json({"channels": bad}, GEOMETRY, base=BASE)
    with pytest.raises(BadRequest, match="z 9 is past the stack"):
        RenderSettings.from_json({"z": 9}, GEOMETRY, base=BASE)


def test_settings_as_a_query_parse_back_to_the_same_settings() -> None:
    inverted = RenderSettings(
        (
            ChannelRender(True, 0.5, 4095, "fire.lut", True),
            ChannelRender(False, -3, 20, "00FF00"),
            ChannelRender(True, 0, 100, "0000FF"),
        ),
        "g",
        "intmean",
        1,
        1,
    )
    query = dict(part.split("=", 1) for part in inverted.query().split("&"))
    assert RenderQuery.parse(query).settings(BASE, GEOMETRY) == inverted
