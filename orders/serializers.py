"""The WhatsApp `order_details` object, built from our records.

One builder serves both the Kaleyra order-details message (button action) and the checkout
endpoint's responses, so what the customer sees in the message and in checkout cannot drift.
"""

from .models import PaymentMethod
from .money import order_totals


def money(value: int, offset: int, description: str = "") -> dict:
    amount = {"offset": offset, "value": value}
    if description:
        amount["description"] = description
    return amount


def order_item_build(item, *, offset: int) -> dict:
    data = {"amount": money(item.amount, offset)}
    if item.sale_amount is not None:
        data["sale_amount"] = money(item.sale_amount, offset)
    data["name"] = item.name
    data["quantity"] = item.quantity
    if item.retailer_id:
        data["retailer_id"] = item.retailer_id
    data["country_of_origin"] = item.country_of_origin
    data["importer_name"] = item.importer_name
    address = {"address_line1": item.importer_address_line1}
    if item.importer_address_line2:
        address["address_line2"] = item.importer_address_line2
    address.update(
        city=item.importer_city,
        zone_code=item.importer_zone_code,
        postal_code=item.importer_postal_code,
        country_code=item.importer_country_code,
    )
    data["importer_address"] = address
    return data


def payment_build(order) -> dict:
    """UPI intent uses Kaleyra's payment_type/payment_configuration; gateways use
    WhatsApp's payment_settings block."""
    if order.payment_method == PaymentMethod.UPI:
        return {"payment_type": "upi", "payment_configuration": order.payment_configuration}
    return {
        "payment_settings": [
            {
                "type": "payment_gateway",
                "payment_gateway": {
                    "type": order.payment_method,
                    "configuration_name": order.payment_configuration,
                },
            }
        ]
    }


def shipping_info_build(order) -> dict:
    addresses = list(order.addresses.all())
    info = {"country": "IN", "addresses": [address.as_shipping_info() for address in addresses]}
    if order.selected_address_id:
        # Normally one of the order's addresses, already at hand.
        selected = next((a for a in addresses if a.pk == order.selected_address_id), None)
        info["selected_address"] = (selected or order.selected_address).as_shipping_info()
    return info


def order_details_build(order, *, reference_id: str | None = None, include_payment=True) -> dict:
    """The `order_details` object. `reference_id` is the one issued for this message (a resend
    carries `-2`, `-3` ...); checkout answers echo the one WhatsApp sent, and leave out the
    payment block as WhatsApp's own examples do."""
    offset = order.offset
    items = list(order.items.all())
    totals = order_totals(order, items=items)
    details = {
        "reference_id": reference_id or order.reference_id,
        "type": order.type,
        "currency": order.currency,
    }
    if include_payment:
        details.update(payment_build(order))
    if order.type == "physical-goods":
        details["shipping_info"] = shipping_info_build(order)
    body = {
        "items": [order_item_build(item, offset=offset) for item in items],
        "subtotal": money(totals.subtotal, offset),
        "shipping": money(totals.shipping, offset),
        "tax": money(totals.tax, offset, order.tax_description),
    }
    if totals.discount:
        body["discount"] = money(totals.discount, offset, order.discount_description)
    body["status"] = "pending"
    if order.expires_at:
        body["expiration"] = {"timestamp": str(int(order.expires_at.timestamp()))}
    details["order"] = body
    if order.coupon_code:
        details["coupon"] = {
            "code": order.coupon_code,
            "discount": {"value": totals.coupon_discount, "offset": offset},
        }
    details["total_amount"] = money(totals.total, offset)
    return details
