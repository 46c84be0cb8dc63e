"""The promotions service: offers by loyalty status and store zone, recommendations for identified customers
(NATS `identity.customer_identified` -> `promotions.action`) and what each in-store display shows."""
