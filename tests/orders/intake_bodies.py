"""The issue's sample order body (the reference's order with a new reference id)."""

import copy

SAMPLE = {
    "reference_id": "abc.123_xyz-2",
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


def sample(**changes) -> dict:
    """A deep copy of the sample with top-level keys replaced."""
    body = copy.deepcopy(SAMPLE)
    body.update(changes)
    return body


def three_items(reference_id: str) -> dict:
    """The sample with three items (the benchmark's order)."""
    body = sample(reference_id=reference_id)
    first = body["items"][0]
    body["items"] = [
        first,
        {**copy.deepcopy(first), "name": "Snake Plant", "quantity": 2, "retailer_id": "SP-2"},
        {**copy.deepcopy(first), "name": "Jade Pot", "quantity": 3},
    ]
    return body
