"""Generated CRM data and seed 004's figures computed from it in plain Python, independently of the SQL."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from footfall.services.customers.records import CustomerRecords
from footfall.services.customers.records.domain import (
    INTERACTION_STATUSES,
    INTERACTION_TYPES,
    CustomerDraft,
    InteractionDraft,
    SegmentAssignment,
)

SEGMENTS = ("premium", "vip", "regular", "new", "at_risk", "high_value")


@dataclass
class Row:
    id: int
    customer_id: int
    kind: str
    subject: str
    status: str
    at: datetime


@dataclass
class Seg:
    customer_id: int
    name: str
    value: float | None
    description: str
    assigned: datetime
    active: bool


@dataclass
class Dataset:
    names: dict[int, str] = field(default_factory=dict)
    interactions: list[Row] = field(default_factory=list)
    segments: list[Seg] = field(default_factory=list)


def whole_seconds(dt: datetime) -> datetime:
    return dt.replace(microsecond=0)


async def generate(records: CustomerRecords, org: str, *, seed: int, customers: int, now: datetime) -> Dataset:
    rng = random.Random(seed)
    data = Dataset()
    for n in range(customers):
        c = await records.create(org, CustomerDraft(name=f"Customer {n}", email=f"c{n}-{seed}@example.com"))
        data.names[c.id] = c.name
        for _ in range(rng.randrange(0, 25)):
            back = timedelta(seconds=rng.randrange(0, 45 * 86400))
            at = whole_seconds(now - back if rng.random() > 0.03 else now + timedelta(days=rng.randrange(2, 5)))
            kind, status = rng.choice(INTERACTION_TYPES), rng.choice(INTERACTION_STATUSES)
            subject = f"about {rng.randrange(1000)}"
            added = await records.add_interaction(org, InteractionDraft(c.id, kind, subject, status, at))
            data.interactions.append(Row(added.id, c.id, kind, subject, status, at))
        for name in rng.sample(SEGMENTS, rng.randrange(0, 3)):
            value = round(rng.uniform(0, 500), 2) if rng.random() > 0.3 else None
            assigned = whole_seconds(now - timedelta(days=rng.randrange(0, 400)))
            active = rng.random() > 0.2
            await records.assign_segment(org, SegmentAssignment(c.id, name, value, f"{name} member", assigned, active))
            data.segments.append(Seg(c.id, name, value, f"{name} member", assigned, active))
    return data


def iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def day_counts(rows: list[Row], today: date, days: int) -> list[dict[str, object]]:
    first = today - timedelta(days=days - 1)
    counts = Counter(r.at.astimezone(UTC).date() for r in rows if first <= r.at.astimezone(UTC).date() <= today)
    return [{"date": d.isoformat(), "interaction_count": n} for d, n in sorted(counts.items())]


def customer_analytics(data: Dataset, customer_id: int, limit: int | None, calculated_at: str) -> dict[str, object]:
    rows = [r for r in data.interactions if r.customer_id == customer_id]
    recent = sorted(rows, key=lambda r: (r.at, r.id), reverse=True)[:limit] if limit else []
    segments = sorted((s for s in data.segments if s.customer_id == customer_id and s.active),
                      key=lambda s: s.assigned)
    return {
        "customer_id": customer_id,
        "customer_name": data.names[customer_id],
        "total_interactions": len(rows),
        "last_interaction_date": iso(max((r.at for r in rows), default=None)),
        "interaction_types": dict(Counter(r.kind for r in rows)),
        "interaction_status": dict(Counter(r.status for r in rows)),
        "segments": [{"segment_name": s.name, "segment_value": s.value, "assigned_date": iso(s.assigned),
                      "description": s.description} for s in segments],
        "recent_interactions": [{"interaction_type": r.kind, "subject": r.subject, "status": r.status,
                                 "interaction_date": iso(r.at)} for r in recent],
        "calculated_at": calculated_at,
    }


def members(data: Dataset, name: str) -> set[int]:
    return {s.customer_id for s in data.segments if s.name == name and s.active}


def segment_analytics(data: Dataset, name: str, today: date, days: int | None, calculated_at: str) -> dict[str, object]:
    who = members(data, name)
    rows = [r for r in data.interactions if r.customer_id in who]
    return {
        "segment_name": name,
        "total_customers": len(who),
        "total_interactions": len(rows),
        "avg_interactions_per_customer": round(len(rows) / len(who), 2) if who else 0.0,
        "interaction_distribution": dict(Counter(r.kind for r in rows)),
        "activity_timeline": day_counts(rows, today, days) if days else [],
        "calculated_at": calculated_at,
    }


def segment_sizes(data: Dataset) -> list[tuple[str, int]]:
    sizes = Counter(s.name for s in data.segments if s.active)
    return sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))


def organization_summary(data: Dataset, org: str, today: date, calculated_at: str) -> dict[str, object]:
    return {
        "organization_id": org,
        "total_customers": len(data.names),
        "total_interactions": len(data.interactions),
        "segment_distribution": dict(segment_sizes(data)),
        "interaction_trends": day_counts(data.interactions, today, 30),
        "calculated_at": calculated_at,
    }


def dashboard_metrics(data: Dataset, today: date, calculated_at: str) -> dict[str, object]:
    def within(days: int) -> int:
        return sum(n["interaction_count"] for n in day_counts(data.interactions, today, days))  # type: ignore[misc]

    return {
        "total_customers": len(data.names),
        "total_interactions_today": within(1),
        "total_interactions_week": within(7),
        "total_interactions_month": within(30),
        "top_segments": [{"segment_name": n, "customer_count": c} for n, c in segment_sizes(data)[:5]],
        "recent_activity": day_counts(data.interactions, today, 7),
        "calculated_at": calculated_at,
    }
