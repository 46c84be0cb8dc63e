"""Fixtures of the deployment tests."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def tmp_path() -> Iterator[Path]:
    """A private temporary directory outside pytest's numbered base directories: several pytest sessions
    at once on one machine prune each other's old `pytest-N` directories, and these tests keep servers
    running on theirs for minutes."""
    with tempfile.TemporaryDirectory(prefix="ffdeploy", ignore_cleanup_errors=True) as tmp:
        yield Path(tmp)
