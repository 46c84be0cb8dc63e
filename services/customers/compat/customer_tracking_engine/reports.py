"""The seed's integration helpers over the ``data/analytics.db`` journeys table."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from .tracker import DEFAULT_DB

PathLike = str | os.PathLike[str]


def get_recent_customers(limit: int = 10, db_path: PathLike = DEFAULT_DB) -> list[dict[str, Any]]:
    """The seed's ``get_recent_customers``: newest entries first, duration in minutes."""
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute(
            "SELECT customer_id, duration, zones, behavior, conversion FROM journeys ORDER BY entry_time DESC LIMIT ?",
            (limit,),
        ).fetchall()
    conn.close()
    return [{"id": r[0], "duration": (r[1] or 0) / 60, "zones": json.loads(r[2] or "[]"), "behavior": r[3],
             "conversion": r[4]} for r in rows]


def export_analytics(output_file: PathLike = "report.xlsx", db_path: PathLike = DEFAULT_DB) -> Path:
    """The seed's ``export_analytics``: every journeys row to an Excel (or ``.csv``) file."""
    import csv

    with sqlite3.connect(db_path) as conn:
        cur = conn.execute("SELECT * FROM journeys")
        header = [d[0] for d in cur.description]
        rows = cur.fetchall()
    conn.close()
    out = Path(output_file)
    if out.suffix.lower() == ".csv":
        with open(out, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerows(rows)
    else:
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("journeys")
        ws.append(header)
        for row in rows:
            ws.append(list(row))
        wb.save(out)
    print(f"Exported: {out}")
    return out


def calculate_conversion_rate(db_path: PathLike = DEFAULT_DB) -> float:
    """The seed's ``calculate_conversion_rate``: percent of journeys whose conversion mentions Purchased."""
    with sqlite3.connect(db_path) as conn:
        total = conn.execute("SELECT COUNT(*) FROM journeys").fetchone()[0]
        converted = conn.execute("SELECT COUNT(*) FROM journeys WHERE conversion LIKE '%Purchased%'").fetchone()[0]
    conn.close()
    return (converted / total * 100) if total > 0 else 0


class POSIntegration:
    """The seed's ``POSIntegration``: the customer present at a transaction time."""

    def __init__(self, db_path: PathLike = DEFAULT_DB) -> None:
        self.db_path = db_path

    def match_customer_to_transaction(self, transaction_time: float) -> str | None:
        with sqlite3.connect(self.db_path) as conn:
            row = conn.execute(
                "SELECT customer_id FROM journeys WHERE entry_time <= ? AND exit_time >= ? ORDER BY entry_time",
                (transaction_time, transaction_time),
            ).fetchone()
        conn.close()
        return row[0] if row else None
