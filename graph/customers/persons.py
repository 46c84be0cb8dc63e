"""Seed 003's person documents as the gateway composes them: the person's own fields (name, phone, age,
gender, emotion, body type, entry and exit, created and updated) from identity over gRPC
(`IdentityService.GetPerson`), the carts, orders and visits from the customers service.

Identity's person ids are UUIDs, while a cart may name any opaque person id (a till's own, say): an id that is
no UUID, or one identity does not know, is answered from the customers service alone, and a person neither
service knows is 404 "Person not found". Where identity has no value, what the customers service knows fills
in: the name and phone of the customer linked on the person's carts, the span of their visits.
"""

from __future__ import annotations

import uuid

from footfall.graph.core.client import Identity
from footfall.graph.customers.client import CustomersClient
from footfall.graph.identity.client import IdentityClient
from footfall.services.core.errors import NotFound
from footfall.v1 import customers_pb2, identity_pb2


async def enrolled_person(identity: IdentityClient, caller: Identity, person_id: str) -> identity_pb2.Person | None:
    """Identity's person `person_id`, or None when identity has no such person."""
    try:
        uuid.UUID(person_id)
    except ValueError:
        return None
    try:
        return await identity.get_person(caller, person_id)
    except NotFound:
        return None


def display_name(person: identity_pb2.Person | None, customers_name: str) -> str | None:
    """Identity's name of the person, else the name of the customer on their carts, else None."""
    return (person.full_name if person is not None else "") or customers_name or None


async def person_summary(
    identity: IdentityClient, customers: CustomersClient, caller: Identity, person_id: str
) -> customers_pb2.PersonSummary:
    """The customers service's summary of the person, calling them by identity's name."""
    person = await enrolled_person(identity, caller, person_id)
    return await customers.person_summary(caller, person_id, enrolled=person is not None,
                                          person_name=display_name(person, "") or "")
