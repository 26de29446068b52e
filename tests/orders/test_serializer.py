"""The order_details object matches the reference's sample field for field."""

import copy

from orders.serializers import order_details_build

# From ../shared/reference/whatsapp-checkout-endpoint-data-exchange.txt (the message sample),
# less its expiration (the demo order expires in the future, not in 2024).
REFERENCE_ORDER_DETAILS = {
    "reference_id": "abc.123_xyz-1",
    "type": "physical-goods",
    "currency": "INR",
    "payment_settings": [
        {
            "type": "payment_gateway",
            "payment_gateway": {
                "type": "razorpay",
                "configuration_name": "prod-razor-pay-config-05",
            },
        }
    ],
    "shipping_info": {
        "country": "IN",
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
    },
    "order": {
        "items": [
            {
                "amount": {"offset": 100, "value": 200000},
                "sale_amount": {"offset": 100, "value": 150000},
                "name": "Blue Elf Aloe",
                "quantity": 1,
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
        "subtotal": {"offset": 100, "value": 150000},
        "shipping": {"offset": 100, "value": 20000},
        "tax": {"offset": 100, "value": 10000},
        "discount": {"offset": 100, "value": 15000, "description": "Additional 10% off"},
        "status": "pending",
    },
    "total_amount": {"offset": 100, "value": 165000},
}


def test_demo_order_matches_reference_sample(demo):
    built = order_details_build(demo)
    expiration = built["order"].pop("expiration")
    assert expiration == {"timestamp": str(int(demo.expires_at.timestamp()))}
    assert built == REFERENCE_ORDER_DETAILS


def test_checkout_answer_leaves_out_payment_and_adds_coupon(demo):
    demo.coupon_code = "TRYNEW10"
    demo.coupon_discount = 16500
    built = order_details_build(demo, include_payment=False)
    assert "payment_settings" not in built
    assert built["coupon"] == {"code": "TRYNEW10", "discount": {"value": 16500, "offset": 100}}
    assert built["total_amount"] == {"offset": 100, "value": 148500}


def test_upi_and_digital_goods(demo):
    demo.payment_method = "upi"
    demo.payment_configuration = "unique_payment_config_id"
    demo.type = "digital-goods"
    built = order_details_build(demo, reference_id="abc.123_xyz-1-2")
    assert built["reference_id"] == "abc.123_xyz-1-2"
    assert built["payment_type"] == "upi"
    assert built["payment_configuration"] == "unique_payment_config_id"
    assert "payment_settings" not in built and "shipping_info" not in built
    expected = copy.deepcopy(REFERENCE_ORDER_DETAILS["order"]["items"])
    assert built["order"]["items"] == expected
