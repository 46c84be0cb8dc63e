"""Count people in a video file: line crossings, zone visits, occupancy and journeys.

examples:
  footfall process store.mp4 --line door:240,0,240,360
  footfall process store.mp4 --line door:240,0,240,360:entry --zones zones.json --json
  footfall process store.mp4 --line door:240,0,240,360 --tracks-out tracks.txt

lines: NAME:X1,Y1,X2,Y2[:DIRECTION] in video pixels; DIRECTION is entry, exit or bidirectional
(default). Walking along the line from point 1 to point 2, "in" is crossing from your right
to your left: for door:240,0,240,360 moving from x<240 to x>240 is "in". A line or zone
reaching outside the frame is analysed as given, with a warning.
zones: a JSON list of {"name": ..., "points": [[x, y], ...]}.
frames are numbered from 1 everywhere: the text summary, the JSON (peak_occupancy_frame, the
frame_index of every event) and the track file.
tracks: MOT format (frame,id,x,y,w,h,conf,-1,-1,-1).
detector: the same as live streams (FOOTFALL_DETECTOR_* settings); the options below override it.
a video that ends before the frame count its header declares (cut off or corrupt) is reported
with the frames decoded, and exits 3 unless --allow-truncated.
exit status: 0 done, 1 the video or model could not be read, 2 bad arguments, 3 truncated video.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import NoReturn, TextIO

from footfall.services.vision.detection import DetectorSettings, check_confidence, check_input_size
from footfall.services.vision.lines import LineZone
from footfall.services.vision.offline import AnalysisError, VideoSummary, process_video
from footfall.services.vision.sources import SourceError, VideoFileSource
from footfall.services.vision.specs import SpecError, load_zones_file, parse_line_spec
from footfall.services.vision.zones import PolygonZone

PROG = "footfall process"
EXIT_UNREADABLE = 1
EXIT_USAGE = 2
EXIT_TRUNCATED = 3


# ---- argument types: a bad value is argparse's one-line error and exit status 2 -----------------------

def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, e.g. 416x320, got {text!r}") from None
    try:
        return check_input_size((w, h))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("detector ")) from None


def _confidence(text: str) -> float:
    try:
        return check_confidence(float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number within (0, 1], e.g. 0.2, got {text!r}") from None


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, got {text!r}")
    return value


def _line(text: str) -> LineZone:
    try:
        return parse_line_spec(text)
    except SpecError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _zones(path: str) -> list[PolygonZone]:
    try:
        return load_zones_file(path)
    except SpecError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``process`` subcommand's arguments to ``parser``; a bad value exits 2 with one line."""

    def one_line_error(message: str) -> NoReturn:  # instead of argparse's usage block before the message
        parser.exit(EXIT_USAGE, f"{parser.prog}: error: {message} (see --help)\n")

    parser.error = one_line_error  # type: ignore[method-assign]
    parser.add_argument("video", help="video file (anything FFmpeg reads)")
    parser.add_argument(
        "--line",
        action="append",
        default=[],
        type=_line,
        metavar="NAME:X1,Y1,X2,Y2[:DIRECTION]",
        help="counting line; repeat for several lines (names unique)",
    )
    parser.add_argument("--zones", metavar="FILE", type=_zones, default=[], help="JSON file of polygon zones")
    parser.add_argument("--tracks-out", metavar="FILE", help="write the tracks in MOT format (frames from 1)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument(
        "--events", action="store_true", help="with --json: include every crossing and zone event"
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar (it is shown only when stderr is a terminal)"
    )
    parser.add_argument(
        "--allow-truncated", action="store_true",
        help="exit 0 for a video that ends before its declared frame count (still reported)",
    )
    defaults = DetectorSettings()
    parser.add_argument(
        "--input-size",
        type=_size,
        metavar="WxH",
        help="detector input size, multiples of 32 (default: fitted to the video's aspect "
        f"within {defaults.pixel_budget} pixels, 480x352 for 4:3)",
    )
    parser.add_argument(
        "--confidence", type=_confidence, help=f"detector threshold within (0, 1] (default {defaults.confidence})"
    )
    parser.add_argument(
        "--workers", type=_workers, help=f"frames detected at once (default {defaults.workers})"
    )


def detector_settings(args: argparse.Namespace) -> DetectorSettings:
    """The platform's detector settings (environment, config file) with this command's options applied."""
    from footfall.services.core.config import Settings

    overrides = {
        "input_size": getattr(args, "input_size", None),
        "confidence": getattr(args, "confidence", None),
        "workers": getattr(args, "workers", None),
    }
    return DetectorSettings.from_settings(Settings(), **{k: v for k, v in overrides.items() if v is not None})


def outside_frame(lines: Sequence[LineZone], zones: Sequence[PolygonZone], size: tuple[int, int]) -> list[str]:
    """Warnings for lines and zones with points outside a frame of ``size`` (W, H)."""
    w, h = size

    def out(points: Sequence[tuple[float, float]]) -> bool:
        return any(not (0 <= x <= w and 0 <= y <= h) for x, y in points)

    found = [f"line {line.name!r} reaches outside the {w}x{h} frame" for line in lines if out((line.start, line.end))]
    found += [f"zone {zone.name!r} reaches outside the {w}x{h} frame" for zone in zones if out(zone.points)]
    return found


def format_summary(summary: VideoSummary) -> str:
    """Human-readable summary (frames numbered from 1)."""
    lines = [
        (
            f"{summary.video}: {summary.frames} frames ({summary.video_seconds:.1f} s of video at "
            f"{summary.video_fps:g} fps) processed in {summary.seconds:.1f} s ({summary.fps:.1f} fps)"
        ),
    ]
    for name, counts in summary.lines.items():
        lines.append(f"  line {name}: {counts['in']} in, {counts['out']} out")
    for name, zone in summary.zones.items():
        dwell = "-" if zone.mean_dwell_seconds is None else f"{zone.mean_dwell_seconds:.1f} s"
        lines.append(f"  zone {name}: {zone.visits} visits, mean dwell {dwell}, peak {zone.peak_occupancy}")
    lines.append(
        f"  peak occupancy: {summary.peak_occupancy} people (frame {summary.peak_occupancy_frame + 1})"
    )
    lines.append(f"  journeys: {summary.journeys}")
    if summary.truncated:
        lines.append(f"  truncated: {summary.frames} of {summary.declared_frames} declared frames decoded")
    return "\n".join(lines)


def _say(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run ``process``; returns the exit status."""
    out = out or sys.stdout
    lines: list[LineZone] = list(args.line)
    zones: list[PolygonZone] = list(args.zones or [])
    names = [line.name for line in lines]
    if len(names) != len(set(names)):
        _say(f"error: line names must be unique: {', '.join(names)}")
        return EXIT_USAGE
    try:
        settings = detector_settings(args)
    except ValueError as exc:  # a bad FOOTFALL_DETECTOR_* setting (pydantic's errors are ValueErrors too)
        _say(f"error: detector settings: {' '.join(str(exc).split())}")
        return EXIT_USAGE
    try:
        source = VideoFileSource(args.video)
    except SourceError as exc:
        _say(str(exc))
        return EXIT_UNREADABLE
    for warning in outside_frame(lines, zones, source.frame_size):
        _say(f"warning: {warning}")
    try:
        summary = process_video(
            source,
            lines,
            zones,
            progress=not args.no_progress and sys.stderr.isatty(),
            tracks_out=args.tracks_out,
            detector_settings=settings,
        )
    except (SourceError, AnalysisError) as exc:
        _say(str(exc))
        return EXIT_UNREADABLE
    except Exception as exc:  # model missing or broken: inference.ModelLoadError and friends
        if type(exc).__name__ in ("ModelLoadError", "InferenceError"):
            _say(str(exc))
            return EXIT_UNREADABLE
        raise
    if args.json:
        json.dump(summary.to_dict(events=args.events), out, indent=2)
        out.write("\n")
    else:
        out.write(format_summary(summary) + "\n")
    if summary.truncated:
        _say(
            f"{'warning' if args.allow_truncated else 'error'}: the video ends after {summary.frames} of the "
            f"{summary.declared_frames} frames it declares (cut off or corrupt); the results cover those frames"
            + ("" if args.allow_truncated else " (--allow-truncated accepts this)")
        )
        return 0 if args.allow_truncated else EXIT_TRUNCATED
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (``python -m footfall.services.vision.cli_process``)."""
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
