"""CSV and Excel exports of journeys.

The first nine columns are the seed's ``journeys`` table, in its order and formats (``SELECT * FROM
journeys`` exported by the seed's ``export_analytics``): ``id``, ``customer_id``, ``entry_time`` and
``exit_time`` (Unix seconds), ``duration`` (seconds), ``zones`` (a JSON array), ``behavior``,
``conversion``, ``created_at``. The platform's columns follow: ``session_id``, ``camera_id``, ISO times,
``dwell_times`` (JSON object), ``zones_count``, ``purchase_amount``, ``transaction_ids`` and the sampled
``path`` (JSON array of ``[x, y]``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, BinaryIO, TextIO

from footfall.services.core.errors import InvalidArgument
from footfall.services.customers.models import JourneyRecord

SEED_COLUMNS = ("id", "customer_id", "entry_time", "exit_time", "duration", "zones", "behavior", "conversion",
                "created_at")
EXTRA_COLUMNS = ("session_id", "camera_id", "entry_time_iso", "exit_time_iso", "dwell_times", "zones_count",
                 "purchase_amount", "transaction_ids", "path")
COLUMNS = SEED_COLUMNS + EXTRA_COLUMNS

CSV_TYPE = "text/csv"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def created_at_text(dt: datetime) -> str:
    """The seed's TIMESTAMP text (``YYYY-MM-DD HH:MM:SS[.ffffff]``, UTC)."""
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat(" ")


def _iso(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


def row_of(rec: JourneyRecord) -> dict[str, Any]:
    j = rec.journey
    return {
        "id": rec.id, "customer_id": j.customer_id, "entry_time": j.entry_time, "exit_time": j.exit_time,
        "duration": j.total_duration, "zones": json.dumps(j.zones_visited), "behavior": j.behavior_pattern,
        "conversion": j.conversion_status, "created_at": created_at_text(rec.created_at),
        "session_id": j.session_id, "camera_id": rec.camera_id, "entry_time_iso": _iso(j.entry_time),
        "exit_time_iso": _iso(j.exit_time), "dwell_times": json.dumps(j.dwell_times),
        "zones_count": len(j.zones_visited), "purchase_amount": rec.purchase_amount,
        "transaction_ids": json.dumps(rec.transaction_ids),
        "path": json.dumps([[p[0], p[1]] for p in j.path_coordinates]),
    }


def write_csv(records: Iterable[JourneyRecord], out: TextIO) -> int:
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    n = 0
    for rec in records:
        row = row_of(rec)
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
        n += 1
    return n


def to_csv(records: Iterable[JourneyRecord]) -> bytes:
    buf = io.StringIO()
    write_csv(records, buf)
    return buf.getvalue().encode("utf-8")


def write_xlsx(records: Iterable[JourneyRecord], out: BinaryIO | str) -> int:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("journeys")
    ws.append(list(COLUMNS))
    n = 0
    for rec in records:
        row = row_of(rec)
        ws.append([row[c] for c in COLUMNS])
        n += 1
    wb.save(out)
    return n


def to_xlsx(records: Iterable[JourneyRecord]) -> bytes:
    buf = io.BytesIO()
    write_xlsx(records, buf)
    return buf.getvalue()


def export(records: Sequence[JourneyRecord], fmt: str) -> tuple[str, str, bytes]:
    """(filename, content type, bytes) for ``fmt`` ``csv`` or ``xlsx``."""
    fmt = fmt.lower()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    if fmt == "csv":
        return f"journeys-{stamp}.csv", CSV_TYPE, to_csv(records)
    if fmt == "xlsx":
        return f"journeys-{stamp}.xlsx", XLSX_TYPE, to_xlsx(records)
    raise InvalidArgument(f"unknown export format {fmt!r}; use csv or xlsx")


def read_csv(data: bytes) -> list[dict[str, str]]:
    """Parse an export back (tests, round trips)."""
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def read_xlsx(data: bytes) -> list[dict[str, Any]]:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data), read_only=True)
    rows = list(wb.active.iter_rows(values_only=True))
    header = list(rows[0])
    return [dict(zip(header, r)) for r in rows[1:]]
