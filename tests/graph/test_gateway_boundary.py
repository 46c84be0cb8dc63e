"""The gateway knows services through their protos: assembling it loads no service store, servicer or runtime,
and no database driver (what `footfall serve gateway` runs on a box without PostgreSQL access)."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
from footfall.graph.app import default_domains, gateway_schema
from footfall.services.core.config import Settings
gateway_schema(default_domains(), Settings())
print(json.dumps(sorted(sys.modules)))
"""


def test_assembling_the_gateway_loads_no_service_internals_and_no_database_driver() -> None:
    loaded = json.loads(subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True,
                                       timeout=120).stdout)
    assert not [m for m in loaded if m == "psycopg" or m.startswith(("psycopg.", "psycopg_pool"))]
    internals = [m for m in loaded if m.startswith("footfall.services.") and not m.startswith("footfall.services.core")
                 and m.rsplit(".", 1)[-1] in {"store", "service", "servicer", "runtime", "consumer", "analytics_store"}]
    assert internals == []
