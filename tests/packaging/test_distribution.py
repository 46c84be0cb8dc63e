"""The installed distribution: everything under the `footfall` namespace, migrations shipped as package data."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _setuptools_config() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_folder_is_listed() -> None:
    config = _setuptools_config()
    listed = set(config["packages"])
    found = set()
    for name, folder in config["package-dir"].items():
        base = REPO_ROOT / folder
        for init in base.rglob("__init__.py"):
            rel = init.parent.relative_to(base)
            if name == "footfall.services" and "compat" in rel.parts:
                continue  # installed as `customer_tracking_engine`, the seed's import name
            found.add(".".join([name, *rel.parts]))
    assert found - listed == set(), "package folders missing from pyproject.toml [tool.setuptools] packages"
    assert listed - found == set(), "packages listed in pyproject.toml that have no folder"


def test_wheel_ships_migrations_and_claims_no_generic_names(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path),
         str(REPO_ROOT)],
        check=True, timeout=300,
    )
    (wheel,) = tmp_path.glob("footfall-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")}
    assert top_level == {"footfall", "customer_tracking_engine"}
    migrations = {Path(n).name for n in names if n.startswith("footfall/migrations/") and n.endswith(".sql")}
    on_disk = {p.name for p in (REPO_ROOT / "migrations").glob("*.sql")}
    assert migrations == on_disk and migrations
    assert "footfall/graph/static/dashboard.html" in names
    assert any(n.startswith("footfall/inference/models/nanodet-int8/") for n in names)
