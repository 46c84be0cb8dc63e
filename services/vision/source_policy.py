"""What a caller may ask the vision service to read: files under the media roots, URLs the network rule allows.

Starting a stream makes the server open a file or connect somewhere for the caller, so:

* **files** only under the configured media roots (``FOOTFALL_MEDIA_ROOTS``, default ``data_dir/media``),
  after resolving symlinks and ``..``; a relative path is looked up under each root in turn. A path outside
  the roots and a path that does not exist get the *same* message, so the answer never tells which files
  exist elsewhere on the server.
* **URLs** only with the allowed schemes (``FOOTFALL_STREAM_URL_SCHEMES``), without characters that URL
  parsers disagree on (backslashes, whitespace, fragments, two ``@``), and only to hosts whose every
  address :mod:`footfall.services.core.netguard` allows: never loopback, link-local or metadata addresses;
  private camera networks yes, narrowed to ``FOOTFALL_CAMERA_NETWORKS`` when that is set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from footfall.services.core.errors import InvalidArgument, PermissionDenied
from footfall.services.core.netguard import TargetPolicy, TargetRefused, TargetUnresolved

NOT_AVAILABLE = "video file not found under the media folders: {path}"
URL_REFUSED = "stream url not allowed: its host resolves to an address streams may not reach"
URL_UNRESOLVED = "stream url host does not resolve"


def _default_network() -> TargetPolicy:
    return TargetPolicy.of(allow_private=True)


@dataclass(frozen=True)
class SourcePolicy:
    """The rule above; ``media_roots`` empty means no file may be streamed."""

    media_roots: tuple[Path, ...] = ()
    url_schemes: tuple[str, ...] = ("rtsp", "rtsps", "http", "https")
    network: TargetPolicy = field(default_factory=_default_network)

    @classmethod
    def from_settings(cls, settings: Any) -> SourcePolicy:
        cameras = list(settings.camera_networks)
        return cls(
            media_roots=tuple(Path(p) for p in settings.effective_media_roots),
            url_schemes=tuple(s.lower().strip() for s in settings.stream_url_schemes),
            # With a camera allow-list, private addresses are allowed only inside it; without, all of them.
            network=TargetPolicy.of(allow_private=not cameras, allowed_networks=cameras),
        )

    def media_file(self, path: str) -> Path:
        """The real path of a video file under a media root, or InvalidArgument (one message for all)."""
        given = Path(path).expanduser() if path.startswith("~") else Path(path)
        roots = [Path(os.path.realpath(root)) for root in self.media_roots]
        candidates = [given] if given.is_absolute() else [root / given for root in roots]
        for candidate in candidates:
            real = Path(os.path.realpath(candidate))
            if any(real.is_relative_to(root) for root in roots) and real.is_file():
                return real
        raise InvalidArgument(NOT_AVAILABLE.format(path=path))

    async def stream_url(self, url: str) -> str:
        """``url`` when its scheme and every address of its host are allowed, else InvalidArgument /
        PermissionDenied with the reason (no addresses quoted)."""
        schemes = ", ".join(f"{s}://" for s in self.url_schemes)
        if any(ch.isspace() or ord(ch) < 32 or ch in "\\#" for ch in url) or url.count("@") > 1:
            raise InvalidArgument("stream url contains characters that are not allowed (whitespace, '\\', '#')")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise InvalidArgument("stream url is malformed") from None
        if parts.scheme.lower() not in self.url_schemes:
            raise InvalidArgument(f"url must start with one of {schemes}")
        if not parts.hostname:
            raise InvalidArgument("stream url needs a host")
        try:
            await self.network.check_host(parts.hostname, port or 0)
        except TargetRefused:
            raise PermissionDenied(URL_REFUSED) from None
        except TargetUnresolved:
            raise InvalidArgument(URL_UNRESOLVED) from None
        return url
