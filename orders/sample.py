"""The reference's sample order (WhatsApp's order_details example: Blue Elf Aloe for Nidhi
Tripathi, ₹1,650.00 in all), as a body of the REST API. Its one home: the API schema's example
(orders.api_schema, under the reference id abc.123_xyz-2, which the README creates) and the
demo data (config.demo, abc.123_xyz-1) both start from it."""

import copy

SAMPLE_REFERENCE_ID = "abc.123_xyz-1"

SAMPLE_ORDER_BODY = {
    "reference_id": SAMPLE_REFERENCE_ID,
    "type": "physical-goods",
    "customer": {"name": "Nidhi Tripathi", "phone": "+919000090000"},
    "payment": {"method": "razorpay", "configuration_name": "prod-razor-pay-config-05"},
    "items": [
        {
            "name": "Blue Elf Aloe",
            "quantity": 1,
            "amount": {"value": 200000, "offset": 100},
            "sale_amount": {"value": 150000, "offset": 100},
            "country_of_origin": "India",
            "importer_name": "Lucky Shrub Imports and Exports",
            "importer_address": {
                "address_line1": "One BKC",
                "address_line2": "Bandra Kurla Complex",
                "city": "Mumbai",
                "zone_code": "MH",
                "postal_code": "400051",
                "country_code": "IN",
            },
        }
    ],
    "shipping": {"value": 20000, "offset": 100},
    "tax": {"value": 10000, "offset": 100},
    "discount": {"value": 15000, "offset": 100, "description": "Additional 10% off"},
    "addresses": [
        {
            "name": "Nidhi Tripathi",
            "phone_number": "919000090000",
            "address": "Bandra Kurla Complex",
            "city": "Mumbai",
            "state": "Maharastra",
            "in_pin_code": "400051",
            "house_number": "12",
            "tower_number": "5",
            "building_name": "One BKC",
            "landmark_area": "Near BKC Circle",
        }
    ],
}
SAMPLE_ORDER_TOTAL = 165000  # paise: 1,500.00 + 200.00 shipping + 100.00 tax - 150.00 discount


def sample_order_body(**changes) -> dict:
    """A deep copy of the sample body with top-level keys replaced."""
    body = copy.deepcopy(SAMPLE_ORDER_BODY)
    body.update(copy.deepcopy(changes))
    return body
