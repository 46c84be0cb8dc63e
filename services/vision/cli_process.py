"""Count people in a video file: line crossings, zone visits, occupancy and journeys.

examples:
  footfall process store.mp4 --line door:240,0,240,360
  footfall process store.mp4 --line door:240,0,240,360:entry --zones zones.json --json
  footfall process store.mp4 --line door:240,0,240,360 --tracks-out tracks.txt

lines: NAME:X1,Y1,X2,Y2[:DIRECTION] in video pixels; DIRECTION is entry, exit or bidirectional
(default). Walking along the line from point 1 to point 2, "in" is crossing from your right
to your left: for door:240,0,240,360 moving from x<240 to x>240 is "in".
zones: a JSON list of {"name": ..., "points": [[x, y], ...]}.
tracks: MOT format (frame,id,x,y,w,h,conf,-1,-1,-1; frames start at 1).
exit status: 0 done, 1 the video or model could not be read, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from footfall.services.vision.detection import DetectorSettings
from footfall.services.vision.offline import VideoSummary, process_video
from footfall.services.vision.sources import SourceError
from footfall.services.vision.specs import SpecError, load_zones_file, parse_line_spec


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, e.g. 416x320, got {text!r}") from None
    return (w, h)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``process`` subcommand's arguments to ``parser``."""
    parser.add_argument("video", help="video file (anything FFmpeg reads)")
    parser.add_argument(
        "--line",
        action="append",
        default=[],
        metavar="NAME:X1,Y1,X2,Y2[:DIRECTION]",
        help="counting line; repeat for several lines",
    )
    parser.add_argument("--zones", metavar="FILE", help="JSON file of polygon zones")
    parser.add_argument("--tracks-out", metavar="FILE", help="write the tracks in MOT format")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument(
        "--events", action="store_true", help="with --json: include every crossing and zone event"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    defaults = DetectorSettings()
    parser.add_argument(
        "--input-size",
        type=_size,
        metavar="WxH",
        help="detector input size, multiples of 32 (default: fitted to the video's aspect "
        f"within {defaults.pixel_budget} pixels, 416x320 for 4:3)",
    )
    parser.add_argument(
        "--confidence", type=float, help=f"detector threshold (default {defaults.confidence})"
    )
    parser.add_argument("--workers", type=int, help=f"frames detected at once (default {defaults.workers})")


def _settings(args: argparse.Namespace) -> DetectorSettings:
    d = DetectorSettings()
    return DetectorSettings(
        input_size=getattr(args, "input_size", None) or d.input_size,
        confidence=d.confidence if getattr(args, "confidence", None) is None else args.confidence,
        workers=getattr(args, "workers", None) or d.workers,
    )


def format_summary(summary: VideoSummary) -> str:
    """Human-readable summary."""
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
    return "\n".join(lines)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run ``process``; returns the exit status."""
    out = out or sys.stdout
    try:
        lines = [parse_line_spec(spec) for spec in args.line]
        names = [line.name for line in lines]
        if len(names) != len(set(names)):
            raise SpecError(f"line names must be unique: {names}")
        zones = load_zones_file(args.zones) if args.zones else []
    except SpecError as exc:
        print(f"footfall process: {exc}", file=sys.stderr)
        return 2
    try:
        summary = process_video(
            args.video,
            lines,
            zones,
            progress=not args.no_progress,
            tracks_out=args.tracks_out,
            detector_settings=_settings(args),
        )
    except SourceError as exc:
        print(f"footfall process: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # model missing or broken: inference.ModelLoadError and friends
        if type(exc).__name__ in ("ModelLoadError", "InferenceError"):
            print(f"footfall process: {exc}", file=sys.stderr)
            return 1
        raise
    if args.json:
        json.dump(summary.to_dict(events=args.events), out, indent=2)
        out.write("\n")
    else:
        out.write(format_summary(summary) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (``python -m footfall.services.vision.cli_process``)."""
    parser = argparse.ArgumentParser(
        prog="footfall process", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
