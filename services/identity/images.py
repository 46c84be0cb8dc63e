"""Face images on disk: `<data_dir>/faces/<org>/<kind>/<id>.jpg`, bounded in size, erasable.

Images never go into PostgreSQL or NATS (beyond vision's bounded crop event); rows name them by a path
relative to the organisation's folder, so a row cannot point outside it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from footfall.services.core.errors import InvalidArgument, TooLarge
from footfall.services.core.tenancy import validate_org

_NAME = re.compile(r"^(people|enrolled)/[0-9a-f-]{36}\.jpg$")


class FaceImages:
    def __init__(self, root: Path, *, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def org_dir(self, org: str) -> Path:
        return self.root / validate_org(org)

    def write(self, org: str, kind: str, item_id: str, jpeg: bytes) -> str:
        """Store `jpeg` (atomically replacing an older one of the same id); returns its relative name."""
        if len(jpeg) > self.max_bytes:
            raise TooLarge(f"face image larger than {self.max_bytes} bytes")
        name = f"{kind}/{item_id}.jpg"
        path = self._path(org, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(jpeg)
        os.replace(tmp, path)
        return name

    def read(self, org: str, name: str) -> bytes | None:
        try:
            return self._path(org, name).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, org: str, names: list[str | None]) -> int:
        """Remove the named images; returns how many existed."""
        removed = 0
        for name in names:
            if not name:
                continue
            try:
                self._path(org, name).unlink()
                removed += 1
            except FileNotFoundError:
                pass
        return removed

    def _path(self, org: str, name: str) -> Path:
        if not _NAME.match(name):
            raise InvalidArgument("bad face image name")
        return self.org_dir(org) / name
