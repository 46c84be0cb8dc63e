"""The services' Prometheus metrics: one registry, one definition of each series.

Every process (`footfall up`, each `footfall serve <service>`) serves this registry at `/metrics`
(the gateway merges it with its HTTP metrics). Define a metric here once and import it where it is
observed; never register a service metric in prometheus_client's global default registry.

Labels stay bounded: `org` and `camera` come from stored configuration, never from request text.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)

_LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5)

# --- occupancy -------------------------------------------------------------------------------------
OCCUPANCY = Gauge(
    "footfall_occupancy", "Current occupancy per camera (people inside)", ["org", "camera"], registry=REGISTRY
)
CROSSINGS = Counter(
    "footfall_crossings", "Line crossings applied to occupancy", ["org", "camera", "direction"], registry=REGISTRY
)
CROSSING_OUTCOMES = Counter(
    "footfall_occupancy_crossing_outcomes", "Crossing events by outcome (applied, duplicate, ignored, rejected)",
    ["outcome"], registry=REGISTRY,
)
OCCUPANCY_ALERTS = Counter(
    "footfall_occupancy_alerts", "Occupancy alerts raised", ["alert_type"], registry=REGISTRY
)

# --- vision ----------------------------------------------------------------------------------------
STREAM_FPS = Gauge("footfall_stream_fps", "Frames analysed per second per stream", ["org", "camera"], registry=REGISTRY)
STREAM_UP = Gauge(
    "footfall_stream_state", "1 for the state each stream is in (connecting, connected, reconnecting, failed, stopped)",
    ["org", "camera", "state"], registry=REGISTRY,
)
FRAMES_ANALYSED = Counter("footfall_frames_analysed", "Frames analysed", ["org", "camera"], registry=REGISTRY)
FRAMES_DROPPED = Counter(
    "footfall_frames_dropped", "Frames read but skipped because analysis was behind", ["org", "camera"],
    registry=REGISTRY,
)
DETECTOR_LATENCY = Histogram(
    "footfall_detector_latency_seconds", "Person detector latency per call (a call may hold a batch)",
    ["backend"], registry=REGISTRY, buckets=_LATENCY_BUCKETS,
)

# --- events ----------------------------------------------------------------------------------------
EVENTS_PUBLISHED = Counter(
    "footfall_events_published", "Events published to JetStream", ["service", "event"], registry=REGISTRY
)
CONSUMER_LAG = Gauge(
    "footfall_consumer_lag", "Messages not yet delivered to a durable consumer (JetStream num_pending)",
    ["consumer"], registry=REGISTRY,
)
CONSUMER_REDELIVERIES = Counter(
    "footfall_consumer_redeliveries", "Messages delivered more than once to a consumer", ["consumer"],
    registry=REGISTRY,
)
BUS_RECONNECTS = Counter("footfall_event_bus_reconnects", "Reconnections to NATS", registry=REGISTRY)
OUTBOX_PENDING = Gauge("footfall_outbox_pending", "Events committed but not yet published", registry=REGISTRY)

# --- webhooks --------------------------------------------------------------------------------------
WEBHOOK_DELIVERIES = Counter(
    "footfall_webhook_deliveries", "Webhook delivery attempts by outcome (delivered, retried, failed)",
    ["kind", "outcome"], registry=REGISTRY,
)
