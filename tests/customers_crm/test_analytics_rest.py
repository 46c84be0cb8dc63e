"""Seed 004's five analytics routes over the real gateway, on generated data, against figures computed in Python
(`generated`), plus their errors, the platform admin's `organization_id` and the audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.customers_crm import generated
from tests.customers_crm.conftest import Crm, org_admin_of_new_org


class Org:
    def __init__(self, name: str, headers: dict[str, str], data: generated.Dataset) -> None:
        self.name, self.headers, self.data = name, headers, data


@pytest.fixture(scope="module")
async def org(crm: Crm) -> Org:
    name, headers = await org_admin_of_new_org(crm, "crmx")
    data = await generated.generate(crm.records, name, seed=4, customers=24, now=datetime.now(UTC))
    return Org(name, headers, data)


def _today(body: dict[str, Any]) -> Any:
    return datetime.fromisoformat(body["calculated_at"]).date()


async def _get(http: httpx.AsyncClient, org: Org, path: str, **params: Any) -> dict[str, Any]:
    r = await http.get(f"/api/v1/analytics{path}", params=params, headers=org.headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_customer_analytics_matches_python(http: httpx.AsyncClient, org: Org) -> None:
    busiest = max(org.data.names, key=lambda c: sum(r.customer_id == c for r in org.data.interactions))
    body = await _get(http, org, f"/customers/{busiest}/analytics")
    assert body == generated.customer_analytics(org.data, busiest, 5, body["calculated_at"])
    body = await _get(http, org, f"/customers/{busiest}/analytics", recent_interactions_limit=20)
    assert body == generated.customer_analytics(org.data, busiest, 20, body["calculated_at"])
    body = await _get(http, org, f"/customers/{busiest}/analytics", include_recent_interactions="false")
    assert body == generated.customer_analytics(org.data, busiest, None, body["calculated_at"])
    for customer_id in org.data.names:
        body = await _get(http, org, f"/customers/{customer_id}/analytics", recent_interactions_limit=3)
        assert body == generated.customer_analytics(org.data, customer_id, 3, body["calculated_at"])


async def test_segment_analytics_matches_python(http: httpx.AsyncClient, org: Org) -> None:
    for name in (*generated.SEGMENTS, "nobody-has-this"):
        body = await _get(http, org, f"/segments/{name}/analytics")
        assert body == generated.segment_analytics(org.data, name, _today(body), 30, body["calculated_at"])
        body = await _get(http, org, f"/segments/{name}/analytics", timeline_days=7)
        assert body == generated.segment_analytics(org.data, name, _today(body), 7, body["calculated_at"])
    body = await _get(http, org, "/segments/premium/analytics", include_timeline="false")
    assert body == generated.segment_analytics(org.data, "premium", _today(body), None, body["calculated_at"])


async def test_segments_summary_and_dashboard_match_python(http: httpx.AsyncClient, org: Org) -> None:
    r = await http.get("/api/v1/analytics/segments", headers=org.headers)
    assert r.json() == sorted({s.name for s in org.data.segments if s.active})
    body = await _get(http, org, "/organization/summary")
    assert body == generated.organization_summary(org.data, org.name, _today(body), body["calculated_at"])
    body = await _get(http, org, "/dashboard/metrics")
    assert body == generated.dashboard_metrics(org.data, _today(body), body["calculated_at"])
    assert body["total_interactions_month"] > body["total_interactions_week"] > 0


async def test_seed_errors(http: httpx.AsyncClient, crm: Crm, org: Org) -> None:
    some = next(iter(org.data.names))
    for path in (f"/customers/{some}/analytics", "/segments/premium/analytics", "/segments",
                 "/organization/summary", "/dashboard/metrics"):
        r = await http.get(f"/api/v1/analytics{path}")
        assert (r.status_code, r.json()) == (401, {"detail": "Not authenticated"})
    r = await http.get("/api/v1/analytics/customers/123456789/analytics", headers=org.headers)
    assert (r.status_code, r.json()) == (404, {"detail": "Customer with ID 123456789 not found"})
    for limit in (0, 21):
        r = await http.get(f"/api/v1/analytics/customers/{some}/analytics",
                           params={"recent_interactions_limit": limit}, headers=org.headers)
        assert (r.status_code, r.json()) == (422, {"detail": [{
            "field": "recent_interactions_limit", "message": "recent_interactions_limit must be between 1 and 20"}]})
    for days in (6, 366):
        r = await http.get("/api/v1/analytics/segments/premium/analytics", params={"timeline_days": days},
                           headers=org.headers)
        assert (r.status_code, r.json()) == (422, {"detail": [{
            "field": "timeline_days", "message": "timeline_days must be between 7 and 365"}]})
    r = await http.get("/api/v1/analytics/customers/x/analytics", headers=org.headers)
    assert r.status_code == 422 and [e["field"] for e in r.json()["detail"]] == ["customer_id"]
    # Another organisation's customer does not exist for org B.
    r = await http.get(f"/api/v1/analytics/customers/{some}/analytics", headers=crm.headers(crm.analyst_b))
    assert (r.status_code, r.json()) == (404, {"detail": f"Customer with ID {some} not found"})


async def test_platform_admin_picks_the_organisation_and_everything_is_audited(
    http: httpx.AsyncClient, crm: Crm, org: Org
) -> None:
    r = await http.get("/api/v1/analytics/organization/summary", params={"organization_id": org.name},
                       headers=crm.headers(crm.root))
    assert r.status_code == 200
    assert r.json() == generated.organization_summary(org.data, org.name, _today(r.json()), r.json()["calculated_at"])
    r = await http.get("/api/v1/analytics/dashboard/metrics", params={"organization_id": org.name},
                       headers=crm.headers(crm.analyst_b))
    assert r.status_code == 403
    # The analyst's own organisation named explicitly is fine.
    r = await http.get("/api/v1/analytics/segments", params={"organization_id": crm.org_b},
                       headers=crm.headers(crm.analyst_b))
    assert r.status_code == 200

    entries, _, _ = await crm.accounts.list_audit(org.name, 1000, "")
    views = [e for e in entries if e.action == "analytics.view"]
    assert {(e.actor, e.target, e.outcome) for e in views} >= {
        (crm.root.username, "/api/v1/analytics/organization/summary", "success"),
    }
    assert {e.target for e in views} >= {
        "/api/v1/analytics/segments", "/api/v1/analytics/dashboard/metrics",
        "/api/v1/analytics/segments/premium/analytics", "/api/v1/analytics/customers/123456789/analytics",
    }
    assert any(e.outcome == "failure" and e.target.endswith("/123456789/analytics") for e in views)
    denied, _, _ = await crm.accounts.list_audit(crm.org_b, 1000, "")
    assert any(e.action == "analytics.view" and e.outcome == "denied" and e.actor == crm.analyst_b.username
               and e.target == "/api/v1/analytics/dashboard/metrics" for e in denied)
