"""Parsing ``--line`` specs and zone files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from footfall.services.vision.lines import LineDirection
from footfall.services.vision.specs import SpecError, load_zones_file, parse_line_spec, parse_zones


def test_line_spec_default_direction() -> None:
    line = parse_line_spec("door:240,0,240,360")
    assert line.name == "door"
    assert line.start == (240.0, 0.0) and line.end == (240.0, 360.0)
    assert line.direction is LineDirection.BIDIRECTIONAL


@pytest.mark.parametrize("word", ["entry", "exit", "bidirectional", "ENTRY"])
def test_line_spec_direction(word: str) -> None:
    assert parse_line_spec(f"gate:0,10.5,100,10.5:{word}").direction is LineDirection(word.lower())


def test_line_spec_options_are_passed_through() -> None:
    assert parse_line_spec("door:0,0,10,10", hysteresis_px=3.0).hysteresis_px == 3.0


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("door", "expected NAME"),
        (":1,2,3,4", "name is empty"),
        ("door:1,2,3", "4 comma-separated"),
        ("door:1,2,3,x", "must be numbers"),
        ("door:1,2,3,nan", "finite"),
        ("door:1,2,3,4:sideways", "not one of"),
        ("door:5,5,5,5", "zero length"),
        ("a:1:2:3", "expected NAME"),
    ],
)
def test_bad_line_specs(spec: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse_line_spec(spec)


def test_zones_file(tmp_path: Path) -> None:
    path = tmp_path / "zones.json"
    path.write_text(
        json.dumps(
            [
                {"name": "shelf", "points": [[0, 0], [100, 0], [100, 50]]},
                {
                    "name": "till",
                    "points": [[0, 0], [10, 0], [10, 10], [0, 10]],
                    "enter_frames": 3,
                    "anchor": "center",
                },
            ]
        )
    )
    zones = load_zones_file(path)
    assert [z.name for z in zones] == ["shelf", "till"]
    assert zones[1].enter_frames == 3 and zones[1].points[2] == (10.0, 10.0)


def test_zones_object_form() -> None:
    assert parse_zones({"zones": [{"name": "a", "points": [[0, 0], [1, 0], [0, 1]]}]})[0].name == "a"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "a"}, "JSON list"),
        ([["x"]], "expected an object"),
        ([{"points": [[0, 0], [1, 0], [0, 1]]}], "'name'"),
        ([{"name": "a", "points": [[0, 0], [1, 0]]}], "at least 3"),
        ([{"name": "a", "points": [[0, 0], [1, 0], [0, "y"]]}], "not an \\[x, y\\] pair"),
        ([{"name": "a", "points": [[0, 0], [1, 0], [0, 1]], "enter_frames": 0}], "enter_frames"),
        ([{"name": "a", "points": [[0, 0], [1, 0], [0, 1]], "anchor": "knee"}], "unknown anchor"),
        ([{"name": "a", "points": [[0, 0], [1, 0], [0, 1]]}] * 2, "unique"),
    ],
)
def test_bad_zones(data: object, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse_zones(data)


def test_unreadable_and_invalid_zone_files(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read"):
        load_zones_file(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("[{")
    with pytest.raises(SpecError, match="invalid JSON at line 1"):
        load_zones_file(bad)
