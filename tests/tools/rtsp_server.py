"""A real RTSP server for the tests: GStreamer's gst-rtsp-server serving a video file's H.264 as it is.

Run with the system Python that has PyGObject (Debian: python3-gi, gir1.2-gst-rtsp-server-1.0,
gstreamer1.0-plugins-good; tests/run.sh installs them): ``python3 rtsp_server.py VIDEO [MOUNT]``. It binds a
port the kernel picks on 127.0.0.1, prints ``ready rtsp://127.0.0.1:<port>/<mount>`` once it listens, and
serves until stdin closes (the test ending, however it ends, stops it).
"""

from __future__ import annotations

import sys
import threading

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # after require_version, on purpose


ELEMENTS = ("filesrc", "avidemux", "h264parse", "rtph264pay")


def main() -> None:
    Gst.init(None)
    missing = [name for name in ELEMENTS if Gst.ElementFactory.find(name) is None]
    if sys.argv[1:] == ["--check"] or missing:  # --check: exit 0 when everything the server needs is installed
        raise SystemExit(f"missing GStreamer elements: {', '.join(missing)}" if missing else 0)
    video, mount = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "cam")
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service("0")
    factory = GstRtspServer.RTSPMediaFactory()
    # Real time (the file's timestamps pace the RTP stream), no re-encoding; every client gets its own run.
    location = video.replace("\\", "\\\\").replace('"', '\\"')
    factory.set_launch(f'( filesrc location="{location}" ! avidemux ! h264parse config-interval=-1 '
                       f'! rtph264pay name=pay0 pt=96 )')
    factory.set_shared(False)
    server.get_mount_points().add_factory(f"/{mount}", factory)
    if server.attach(None) == 0:
        raise SystemExit("cannot listen for RTSP")
    print(f"ready rtsp://127.0.0.1:{server.get_bound_port()}/{mount}", flush=True)
    loop = GLib.MainLoop()
    threading.Thread(target=lambda: (sys.stdin.read(), loop.quit()), daemon=True).start()
    loop.run()


if __name__ == "__main__":
    main()
