"""Seed 002's admin dashboard: statistics, alert count, camera states and the live `/ws/dashboard`."""

from footfall.graph.core.domain import GatewayDomain
from footfall.graph.dashboard.live import ROUTES
from footfall.graph.dashboard.rest import router

# No service of its own: it asks accounts, occupancy and vision, whose domains check their health.
DOMAIN = GatewayDomain("dashboard", router=router, routes=ROUTES, health_check=False)

__all__ = ["DOMAIN"]
