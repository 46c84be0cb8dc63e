"""The customers domain: visits and journeys, POS transactions and conversion, exports and webhooks.

Layers: ``journeys`` / ``behavior`` / ``conversion`` (plain domain), ``store`` (SQL), ``service``
(domain over the store), ``servicer`` (gRPC), ``consumer`` (NATS), ``webhooks`` (outbox and deliveries),
``rest_shapes`` (the seed's REST bodies), ``runtime.start_customers`` (wiring).
"""

from footfall.services.customers.behavior import DEFAULT_RULES, BehaviorRule, BehaviorRules
from footfall.services.customers.conversion import NO_PURCHASE, PENDING, PURCHASED, POSTransaction
from footfall.services.customers.journeys import (
    CustomerEntry,
    CustomerJourney,
    JourneyBuilder,
    JourneyComplete,
    JourneyConfig,
    ZoneStay,
)

__all__ = [
    "DEFAULT_RULES", "NO_PURCHASE", "PENDING", "PURCHASED", "BehaviorRule", "BehaviorRules", "CustomerEntry",
    "CustomerJourney", "JourneyBuilder", "JourneyComplete", "JourneyConfig", "POSTransaction", "ZoneStay",
]
