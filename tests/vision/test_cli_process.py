"""``footfall process``: argument handling, human and JSON output, MOT file; ``process_video`` basics."""

from __future__ import annotations

import argparse
import io
import json
import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import pytest

from footfall.services.vision import cli_process
from footfall.services.vision.detection import DetectorSettings
from footfall.services.vision.offline import process_video
from footfall.services.vision.specs import parse_line_spec
from footfall.services.vision.zones import PolygonZone
from tests.vision.helpers import require_data


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="footfall process")
    cli_process.add_arguments(parser)
    return parser.parse_args(argv)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--input-size", "400x300"], "multiples of 32, got 400x300"),
        (["--input-size", "big"], "expected WIDTHxHEIGHT"),
        (["--input-size", "0x320"], "multiples of 32"),
        (["--confidence", "2"], "within (0, 1]"),
        (["--confidence", "0"], "within (0, 1]"),
        (["--confidence", "nan"], "within (0, 1]"),
        (["--workers", "0"], "1 or more"),
        (["--workers", "two"], "1 or more"),
        (["--line", "door:1,2,3"], "4 comma-separated"),
        (["--line", "door:a,0,1,1"], "must be numbers"),
        (["--line", "door:inf,0,1,1"], "finite"),
        (["--line", "door:5,5,5,5"], "zero length"),
        (["--line", "door:0,0,1,1:sideways"], "direction"),
        (["--line", "0,0,1,1"], "NAME:X1,Y1,X2,Y2"),
    ],
)
def test_bad_options_exit_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse(["v.mp4", *argv])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("footfall process: error: argument ") and message in err, err


def test_bad_zones_files_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    zones = tmp_path / "z.json"
    for text, message in (('[{"name": "a"}]', "points"), ("{nope", "invalid JSON"),
                          ('[{"name": "a", "points": [[0, 0], [1, 1]]}]', "points")):
        zones.write_text(text)
        with pytest.raises(SystemExit) as exit_:
            parse(["v.mp4", "--zones", str(zones)])
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "argument --zones" in err and message in err, err
    with pytest.raises(SystemExit):
        parse(["v.mp4", "--zones", str(tmp_path / "missing.json")])
    assert "cannot read zones file" in capsys.readouterr().err


def test_duplicate_line_names_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    args = parse(["v.mp4", "--line", "a:0,0,1,1", "--line", "a:0,0,2,2"])
    assert cli_process.run(args) == 2
    assert capsys.readouterr().err == "footfall process: error: line names must be unique: a, a\n"


def test_bad_detector_setting_in_the_environment_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FOOTFALL_DETECTOR_CONFIDENCE", "7")
    assert cli_process.run(parse(["v.mp4"])) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "confidence" in err and "Traceback" not in err


def test_missing_or_broken_video_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli_process.run(parse([str(tmp_path / "missing.mp4"), "--no-progress"])) == 1
    assert "not found" in capsys.readouterr().err
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x01garbage" * 1000)
    assert cli_process.run(parse([str(broken), "--no-progress"])) == 1
    assert "cannot" in capsys.readouterr().err


def test_input_size_argument() -> None:
    assert parse(["v.mp4", "--input-size", "512x384"]).input_size == (512, 384)
    assert cli_process.detector_settings(parse(["v.mp4", "--input-size", "512x384", "--confidence", "0.4"])) == (
        DetectorSettings(input_size=(512, 384), confidence=0.4)
    )


def test_lines_and_zones_outside_the_frame_are_named() -> None:
    inside = parse_line_spec("door:240,0,240,360")
    outside = parse_line_spec("far:0,-10,480,-10")
    zone = PolygonZone("wide", ((0, 0), (600, 0), (600, 360), (0, 360)))
    assert cli_process.outside_frame([inside, outside], [zone], (480, 360)) == [
        "line 'far' reaches outside the 480x360 frame", "zone 'wide' reaches outside the 480x360 frame",
    ]


class _Dets:
    def __init__(self, xyxy: np.ndarray, conf: np.ndarray) -> None:
        self.xyxy, self.confidence = xyxy, conf

    def __len__(self) -> int:
        return len(self.confidence)


class Walker:
    def detect(self, frame: np.ndarray) -> _Dets:
        i = int(frame[0, 0, 0])
        x = 20.0 + 12 * i
        return _Dets(np.array([[x, 100, x + 30, 180]], np.float32), np.array([0.9], np.float32))

    def detect_batch(self, frames: Sequence[np.ndarray]) -> list[_Dets]:
        return [self.detect(f) for f in frames]


@pytest.fixture()
def walker_video(tmp_path: Path) -> Path:
    path = tmp_path / "walk.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (480, 360))
    for i in range(36):
        frame = np.zeros((360, 480, 3), np.uint8)
        frame[:8, :8] = i  # MJPG keeps a flat 8x8 block exact enough
        writer.write(frame)
    writer.release()
    return path


def test_process_video_with_a_scripted_detector(walker_video: Path, tmp_path: Path) -> None:
    tracks = tmp_path / "tracks.txt"
    zone = PolygonZone("middle", ((200, 0), (300, 0), (300, 360), (200, 360)))
    summary = process_video(
        walker_video,
        [parse_line_spec("door:240,0,240,360")],
        [zone],
        progress=False,
        tracks_out=tracks,
        detector=Walker(),
    )
    assert summary.frames == 36 and summary.video_fps == pytest.approx(10.0)
    assert summary.lines == {"door": {"in": 1, "out": 0}}
    assert summary.journeys == 1 and summary.peak_occupancy == 1
    assert summary.zones["middle"].visits == 1
    assert summary.zones["middle"].mean_dwell_seconds == pytest.approx(0.8, abs=0.2)
    rows = [line.split(",") for line in tracks.read_text().splitlines()]
    assert rows[0][0] == "1" and all(len(r) == 10 and r[7:] == ["-1", "-1", "-1"] for r in rows)
    as_json = summary.to_dict(events=True)
    json.dumps(as_json)
    assert as_json["crossings"][0]["direction"] == "in"


VIDEO = "video/pets2009_s2l1_480x360.avi"


@pytest.fixture(scope="module")
def real_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 40 frames of PETS 2009 S2.L1, re-encoded."""
    data = require_data(VIDEO)
    clip = tmp_path_factory.mktemp("clip") / "clip.avi"
    cap = cv2.VideoCapture(str(data / VIDEO))
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (480, 360))
    for _ in range(40):
        ok, frame = cap.read()
        assert ok
        writer.write(frame)
    writer.release()
    cap.release()
    return clip


@pytest.mark.data
def test_cli_on_a_real_clip_json_and_human(
    real_clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    zones = tmp_path / "zones.json"
    zones.write_text(json.dumps([{"name": "right", "points": [[300, 0], [480, 0], [480, 360], [300, 360]]}]))
    tracks = tmp_path / "t.txt"
    argv = [str(real_clip), "--line", "door:240,0,240,360", "--line", "far:0,-10,480,-10", "--zones", str(zones)]

    out = io.StringIO()
    args = parse([*argv, "--tracks-out", str(tracks), "--json", "--events"])
    assert cli_process.run(args, out=out) == 0
    result = json.loads(out.getvalue())
    assert result["frames"] == result["declared_frames"] == 40 and not result["truncated"]
    assert set(result["lines"]["door"]) == {"in", "out"}
    assert result["zones"]["right"]["peak_occupancy"] >= 1
    assert result["peak_occupancy"] >= 3 and result["journeys"] >= 3
    # Without a terminal: no progress bar; the line above the frame is named.
    assert capsys.readouterr().err == "footfall process: warning: line 'far' reaches outside the 480x360 frame\n"

    # One frame numbering, from 1: the JSON's frames are the track file's frames.
    rows = [line.split(",") for line in tracks.read_text().splitlines()]
    ids_at: dict[int, set[int]] = {}
    for row in rows:
        ids_at.setdefault(int(row[0]), set()).add(int(row[1]))
    assert min(ids_at) == 1 and max(ids_at) == 40
    assert len(ids_at[result["peak_occupancy_frame"]]) == result["peak_occupancy"]
    assert all(len(ids) <= result["peak_occupancy"] for ids in ids_at.values())
    entries = [e for e in result["zone_events"] if e["kind"] == "enter"]
    assert entries and all(e["track_id"] in ids_at[e["frame_index"]] for e in entries)

    out = io.StringIO()
    assert cli_process.run(parse([*argv, "--no-progress"]), out=out) == 0
    text = out.getvalue()
    assert "line door:" in text and "journeys" in text
    assert f"peak occupancy: {result['peak_occupancy']} people (frame {result['peak_occupancy_frame']})" in text


@pytest.mark.data
def test_truncated_video_is_reported_and_fails_unless_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = require_data(VIDEO)
    raw = (data / VIDEO).read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(raw[: len(raw) // 8])  # the header still declares all 795 frames

    out = io.StringIO()
    assert cli_process.run(parse([str(cut), "--json"]), out=out) == 3
    result = json.loads(out.getvalue())
    assert result["truncated"] and result["declared_frames"] == 795 and 0 < result["frames"] < 795
    err = capsys.readouterr().err
    assert err == (
        f"footfall process: error: the video ends after {result['frames']} of the 795 frames it declares "
        "(cut off or corrupt); the results cover those frames (--allow-truncated accepts this)\n"
    )

    out = io.StringIO()
    assert cli_process.run(parse([str(cut), "--allow-truncated"]), out=out) == 0
    assert f"truncated: {result['frames']} of 795 declared frames decoded" in out.getvalue()
    assert capsys.readouterr().err.startswith("footfall process: warning: the video ends after")


@pytest.mark.data
def test_progress_bar_only_on_a_terminal(real_clip: Path) -> None:
    argv = [sys.executable, "-m", "footfall.deploy.cli", "process", str(real_clip)]
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal 100 columns wide
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    chunks: list[bytes] = []

    def read_terminal() -> None:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the process closed the terminal
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=read_terminal)
    reader.start()
    stdout, _ = proc.communicate(timeout=600)
    reader.join(60)
    os.close(master)
    assert proc.returncode == 0 and b"journeys" in stdout
    terminal = b"".join(chunks).decode(errors="replace")
    assert "40/40" in terminal and "frame/s" in terminal, terminal

    piped = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert piped.returncode == 0 and piped.stderr == ""
