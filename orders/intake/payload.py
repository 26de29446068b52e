"""A stored order as the API shows it: the body it was created from (canonical form) plus what
the product adds: status, totals as WhatsApp writes them ({"value", "offset"}), the checkout
references issued, and what the apps above contribute (payment status, latest message status)
through `order_payload_contribute_register`, so orders imports none of them.
"""

from ..models import Order
from ..money import order_totals
from .parse import ADDRESS_FIELDS, IMPORTER_FIELDS

# contributor(orders=[Order, ...]) -> {order.pk: {key: value}}: one call per page of orders.
# Registered in the upper apps' AppConfig.ready() (checkout: payment_status; messaging:
# latest_message).
_CONTRIBUTORS: list = []
# contributor -> the keys it gives an order created by the request being answered (nothing can
# refer to that order yet: no payment, no message), so the answer to a create costs no query.
_NEW_ORDER_VALUES: dict = {}

# Keys the contributors fill; present (null) even when nobody registered, so the shape is fixed.
CONTRIBUTED_DEFAULTS = {"payment_status": None, "latest_message": None}


def order_payload_contribute_register(*, contributor, new_order: dict | None = None) -> None:
    """Have `contributor(orders=[...])` add keys to each order's payload (once however often
    it is registered). `new_order`: what it gives any order just created (in the answer to the
    create, instead of calling it), when it can say so without reading anything."""
    if contributor not in _CONTRIBUTORS:
        _CONTRIBUTORS.append(contributor)
    if new_order is not None:
        _NEW_ORDER_VALUES[contributor] = dict(new_order)


def _money(value: int, offset: int, description: str = "") -> dict:
    amount = {"value": value, "offset": offset}
    if description:
        amount["description"] = description
    return amount


def order_canonical(order: Order, *, items=None, addresses=None) -> dict:
    """The canonical form of the body that would create this order as it is now (see parse.py);
    `items` / `addresses` when already at hand."""
    offset = order.offset
    items = list(order.items.all()) if items is None else items
    addresses = list(order.addresses.all()) if addresses is None else addresses
    canonical = {
        "reference_id": order.reference_id,
        "type": order.type,
        "customer": {"name": order.customer_name, "phone": str(order.customer_phone)},
        "payment": {
            "method": order.payment_method,
            "configuration_name": order.payment_configuration,
        },
        "items": [_item(item, offset) for item in items],
        "shipping": _money(order.shipping, offset),
        "tax": _money(order.tax, offset, order.tax_description),
        "discount": _money(order.discount, offset, order.discount_description),
        "addresses": [
            {key: getattr(a, key) for key in ADDRESS_FIELDS if getattr(a, key)} for a in addresses
        ],
    }
    if order.expires_at:
        canonical["expiration"] = {"timestamp": str(int(order.expires_at.timestamp()))}
    if order.header_image_url:
        canonical["header_image"] = {"link": order.header_image_url}
    return canonical


def _item(item, offset) -> dict:
    data = {"name": item.name}
    if item.retailer_id:
        data["retailer_id"] = item.retailer_id
    data["quantity"] = item.quantity
    data["amount"] = _money(item.amount, offset)
    if item.sale_amount is not None:
        data["sale_amount"] = _money(item.sale_amount, offset)
    data["country_of_origin"] = item.country_of_origin
    data["importer_name"] = item.importer_name
    data["importer_address"] = {
        key: getattr(item, field) for key, field in IMPORTER_FIELDS.items() if getattr(item, field)
    }
    return data


def orders_as_payloads(orders, *, new: bool = False) -> list[dict]:
    """The API's representation of each order (prefetch items, addresses and references).
    `new`: the orders were just created by this request (the contributors' new_order values)."""
    orders = list(orders)
    payloads = []
    for order in orders:
        items = list(order.items.all())
        totals = order_totals(order, items=items)
        offset = order.offset
        payload = {
            "reference_id": order.reference_id,
            "status": order.status,
            "currency": order.currency,
            **order_canonical(order, items=items),
            "subtotal": _money(totals.subtotal, offset),
            "coupon": (
                {"code": order.coupon_code, "discount": _money(totals.coupon_discount, offset)}
                if order.coupon_code
                else None
            ),
            "total_amount": _money(totals.total, offset),
            "references": [ref.reference_id for ref in order.references.all()],
            **CONTRIBUTED_DEFAULTS,
            "created_at": order.created_at.isoformat().replace("+00:00", "Z"),
            "updated_at": order.updated_at.isoformat().replace("+00:00", "Z"),
        }
        payloads.append(payload)
    if orders:
        for contributor in _CONTRIBUTORS:
            if new and contributor in _NEW_ORDER_VALUES:
                values = _NEW_ORDER_VALUES[contributor]
                for payload in payloads:
                    payload.update(values)
                continue
            extra = contributor(orders=orders)
            for order, payload in zip(orders, payloads, strict=True):
                payload.update(extra.get(order.pk, {}))
    return payloads


def order_as_payload(order: Order, *, new: bool = False) -> dict:
    """The API's representation of one order (GET, and the answer to create and update);
    `new` as for orders_as_payloads."""
    return orders_as_payloads([order], new=new)[0]


def canonical_differences(sent: dict, stored: dict) -> list[str]:
    """The paths (as a client writes them: `items[0].quantity`) where two canonical forms
    differ, in the order of the sent body."""
    left, right = _flatten(sent), _flatten(stored)
    paths = [path for path, value in left.items() if right.get(path, _ABSENT) != value]
    paths += [path for path in right if path not in left]
    return paths


_ABSENT = object()


def _flatten(value, prefix="") -> dict:
    if isinstance(value, dict):
        flat = {}
        for key, inner in value.items():
            flat.update(_flatten(inner, f"{prefix}.{key}" if prefix else key))
        return flat
    if isinstance(value, list):
        flat = {}
        for index, inner in enumerate(value):
            flat.update(_flatten(inner, f"{prefix}[{index}]"))
        return flat or {prefix: []}
    return {prefix: value}
