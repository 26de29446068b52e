"""Orders from bodies shaped like WhatsApp's `order_details` (the REST API, the CSV import):
parse.py reads and checks a body, services.py creates and changes orders from it, payload.py
shows a stored order the same way."""

from .payload import (
    order_as_payload,
    order_payload_contribute_register,
    orders_as_payloads,
)
from .services import (
    order_create_from_payload,
    order_payloads_check,
    order_payloads_checked,
    order_update_from_payload,
    orders_create_checked,
)

__all__ = [
    "order_as_payload",
    "order_create_from_payload",
    "order_payload_contribute_register",
    "order_payloads_check",
    "order_payloads_checked",
    "order_update_from_payload",
    "orders_as_payloads",
    "orders_create_checked",
]
