"""Occupancy analytics: live counts per camera and facility, alerts, time series and rollups.

Entry point for the app assembler: `start_occupancy(settings, db, bus, grpc_server) -> OccupancyRuntime`.
"""

from footfall.services.occupancy.runtime import OccupancyRuntime, start_occupancy

__all__ = ["OccupancyRuntime", "start_occupancy"]
