"""CSV/XLSX exports and the seed's REST rows, parsed back."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from footfall.services.core.errors import InvalidArgument
from footfall.services.customers import exports, rest_shapes
from footfall.services.customers.journeys import CustomerJourney, ZoneStay
from footfall.services.customers.models import JourneyRecord

CREATED = datetime(2025, 3, 1, 12, 30, 15, 250000, tzinfo=UTC)


def records() -> list[JourneyRecord]:
    done = CustomerJourney("cust_a", "visit_a", 1000.0, 1300.5, 300.5, ["entrance", "shelves", "checkout"],
                           [(10.0, 300.0), (200.5, 100.0)], {"entrance": 3.0, "shelves": 200.0, "checkout": 60.25},
                           "browser", "Purchased")
    active = CustomerJourney("cust_b", "visit_b", 2000.0, None, None, ["shelves"], [(1.0, 2.0)], {"shelves": 5.0},
                             "in progress", "Pending")
    return [
        JourneyRecord(1, "GATE_A", done, [ZoneStay("entrance", 1000, 1003)], ["t-1", "t-2"], 31.5, CREATED, CREATED),
        JourneyRecord(2, "GATE_A", active, [], [], 0.0, CREATED, CREATED),
    ]


def test_csv_round_trip() -> None:
    rows = exports.read_csv(exports.to_csv(records()))
    assert list(rows[0]) == list(exports.COLUMNS)
    first, second = rows
    assert first["id"] == "1" and first["customer_id"] == "cust_a"
    assert float(first["entry_time"]) == 1000.0 and float(first["exit_time"]) == 1300.5
    assert float(first["duration"]) == 300.5
    assert json.loads(first["zones"]) == ["entrance", "shelves", "checkout"]
    assert first["behavior"] == "browser" and first["conversion"] == "Purchased"
    assert first["created_at"] == "2025-03-01 12:30:15.250000"
    assert json.loads(first["dwell_times"])["checkout"] == 60.25 and first["zones_count"] == "3"
    assert json.loads(first["transaction_ids"]) == ["t-1", "t-2"] and float(first["purchase_amount"]) == 31.5
    assert json.loads(first["path"]) == [[10.0, 300.0], [200.5, 100.0]]
    assert first["entry_time_iso"] == "1970-01-01T00:16:40+00:00"
    assert second["exit_time"] == "" and second["duration"] == "" and second["conversion"] == "Pending"


def test_xlsx_round_trip() -> None:
    name, content_type, data = exports.export(records(), "XLSX")
    assert name.endswith(".xlsx") and content_type == exports.XLSX_TYPE
    rows = exports.read_xlsx(data)
    assert [r["customer_id"] for r in rows] == ["cust_a", "cust_b"]
    assert rows[0]["entry_time"] == 1000.0 and rows[0]["duration"] == 300.5 and rows[0]["id"] == 1
    assert json.loads(rows[0]["zones"]) == ["entrance", "shelves", "checkout"]
    assert rows[1]["exit_time"] is None
    with pytest.raises(InvalidArgument):
        exports.export(records(), "pdf")


def test_seed_rest_rows() -> None:
    body = rest_shapes.customers_response(records())
    assert body == {"customers": [
        [1, "cust_a", 1000.0, 1300.5, 300.5, '["entrance", "shelves", "checkout"]', "browser", "Purchased",
         "2025-03-01 12:30:15.250000"],
        [2, "cust_b", 2000.0, None, None, '["shelves"]', "in progress", "Pending", "2025-03-01 12:30:15.250000"],
    ]}
    assert rest_shapes.stats_response(2) == {"total_customers": 2}
    assert rest_shapes.CUSTOMERS_PATH == "/api/customers" and rest_shapes.STATS_PATH == "/api/stats"
