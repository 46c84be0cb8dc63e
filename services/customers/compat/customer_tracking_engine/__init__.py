"""IntelliSight's ``customer_tracking_engine`` API on Footfall.

>>> from customer_tracking_engine import CustomerTracker
>>> tracker = CustomerTracker(model_name="nanodet", confidence=0.35)
>>> tracker.process_video(source="video.mp4")
>>> tracker.active_customers, tracker.completed_journeys, tracker.total_customers, tracker.peak_occupancy
>>> tracker.save_report()  # data/analytics.db, the seed's journeys table

Detection, tracking and zones are Footfall's vision pipeline (``footfall.services.vision``); journeys, behaviour
rules and conversion are the customers domain (``footfall.services.customers``): the same code the platform runs.
"""

from footfall.services.customers.behavior import BehaviorRule, BehaviorRules
from footfall.services.customers.journeys import CustomerJourney, JourneyConfig

from .reports import (
    POSIntegration,
    calculate_conversion_rate,
    export_analytics,
    get_recent_customers,
)
from .tracker import (
    DEFAULT_DB,
    JOURNEYS_SCHEMA,
    CustomerTracker,
    TrackerError,
    batch_process_videos,
    load_detector,
    parallel_process_videos,
    process_single_video,
    process_video_summary,
)

__all__ = [
    "DEFAULT_DB", "JOURNEYS_SCHEMA", "BehaviorRule", "BehaviorRules", "CustomerJourney", "CustomerTracker",
    "JourneyConfig", "POSIntegration", "TrackerError", "batch_process_videos", "calculate_conversion_rate",
    "export_analytics", "get_recent_customers", "load_detector", "parallel_process_videos",
    "process_single_video", "process_video_summary",
]
