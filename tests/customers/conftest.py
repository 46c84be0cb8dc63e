"""Customers tests: the seed-compatibility package is importable as `customer_tracking_engine`."""

from __future__ import annotations

import sys
from pathlib import Path

COMPAT = Path(__file__).resolve().parents[2] / "services" / "customers" / "compat"
if str(COMPAT) not in sys.path:
    sys.path.insert(0, str(COMPAT))
