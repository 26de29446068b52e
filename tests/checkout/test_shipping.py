"""apply_shipping: address checks, shipping rules, the saved address and cost, idempotency."""

import copy

import pytest
from django.core.exceptions import ValidationError

from checkout.models import ShippingRule
from checkout.selectors import shipping_rule_for_pincode
from config.demo import DEMO_ADDRESS
from orders.models import EventSource, OrderAddress, OrderEvent
from tests.checkout.conftest import db_snapshot, exchange_request

NEW_ADDRESS = {
    "name": "Nidhi Tripathi",
    "phone_number": "919000090000",
    "address": "Linking Road",
    "city": "Mumbai",
    "state": "Maharashtra",
    "in_pin_code": "400050",
    "floor_number": "3",
}


def ship(whatsapp, address):
    return whatsapp.post(exchange_request("apply_shipping", selected_address=address))


def test_reference_address_prices_40000_and_is_selected_without_duplicating(whatsapp, demo):
    reply = ship(whatsapp, DEMO_ADDRESS)
    assert reply.status == 200
    assert reply.data["version"] == "1.0"
    assert reply.data["sub_action"] == "apply_shipping"
    details = reply.data["data"]["order_details"]
    assert details["shipping_info"] == {
        "country": "IN",
        "addresses": [DEMO_ADDRESS],
        "selected_address": DEMO_ADDRESS,
    }
    assert details["order"]["shipping"] == {"offset": 100, "value": 40000}
    # 150000 + 40000 + 10000 - 15000, no coupon
    assert details["total_amount"] == {"offset": 100, "value": 185000}
    assert "payment_settings" not in details
    demo.refresh_from_db()
    assert demo.shipping == 40000
    assert demo.selected_address.as_shipping_info() == DEMO_ADDRESS
    assert demo.addresses.count() == 1
    events = demo.events.filter(source=EventSource.CHECKOUT)
    assert sorted(events.values_list("kind", "before", "after")) == [
        (OrderEvent.Kind.SHIPPING_ADDRESS, None, str(demo.selected_address)),
        (OrderEvent.Kind.SHIPPING_COST, 20000, 40000),
    ]


def test_repeating_the_request_gives_the_same_answer_and_writes_nothing(whatsapp, demo):
    first = ship(whatsapp, DEMO_ADDRESS)
    before = db_snapshot()
    second = ship(whatsapp, DEMO_ADDRESS)
    assert second.status == 200
    assert second.data == first.data
    assert db_snapshot() == before


def test_a_new_address_is_added_to_the_known_addresses(whatsapp, demo):
    ShippingRule.objects.create(name="Bandra West", pincode_prefix="400050", cost=30000)
    reply = ship(whatsapp, NEW_ADDRESS)
    assert reply.status == 200
    info = reply.data["data"]["order_details"]["shipping_info"]
    assert info["addresses"] == [DEMO_ADDRESS, NEW_ADDRESS]
    assert info["selected_address"] == NEW_ADDRESS
    assert reply.data["data"]["order_details"]["total_amount"]["value"] == 175000
    # Back to the first address: nothing new is stored, the known one is selected again.
    reply = ship(whatsapp, DEMO_ADDRESS)
    assert reply.data["data"]["order_details"]["shipping_info"]["selected_address"] == DEMO_ADDRESS
    assert OrderAddress.objects.filter(order=demo).count() == 2


def test_rules_most_specific_first(db):
    ShippingRule.objects.create(name="Default", pincode_prefix="", cost=10000)
    ShippingRule.objects.create(name="Maharashtra", pincode_prefix="4", cost=20000)
    ShippingRule.objects.create(name="Mumbai", pincode_prefix="400", cost=30000)
    ShippingRule.objects.create(name="BKC", pincode_prefix="400051", cost=40000)
    ShippingRule.objects.create(name="Off", pincode_prefix="4000", cost=1, is_active=False)
    assert shipping_rule_for_pincode(pincode="400051").name == "BKC"
    assert shipping_rule_for_pincode(pincode="400052").name == "Mumbai"
    assert shipping_rule_for_pincode(pincode="411001").name == "Maharashtra"
    assert shipping_rule_for_pincode(pincode="110001").name == "Default"


def test_no_matching_rule_is_not_served(db):
    ShippingRule.objects.create(name="Mumbai", pincode_prefix="400", cost=30000)
    assert shipping_rule_for_pincode(pincode="110001") is None


def test_free_shipping_from_a_subtotal(whatsapp, demo):
    rule = ShippingRule.objects.get(pincode_prefix="400051")
    rule.free_above = 150000  # the demo subtotal
    rule.save()
    reply = ship(whatsapp, DEMO_ADDRESS)
    assert reply.data["data"]["order_details"]["order"]["shipping"]["value"] == 0
    rule.free_above = 150001
    rule.save()
    reply = ship(whatsapp, DEMO_ADDRESS)
    assert reply.data["data"]["order_details"]["order"]["shipping"]["value"] == 40000


def test_default_rule_serves_the_rest(whatsapp, demo):
    ShippingRule.objects.create(name="Rest of India", pincode_prefix="", cost=9900)
    reply = ship(whatsapp, {**DEMO_ADDRESS, "in_pin_code": "110001", "city": "New Delhi"})
    assert reply.status == 200
    assert reply.data["data"]["order_details"]["order"]["shipping"]["value"] == 9900


def test_unserved_pincode_is_refused_naming_it(whatsapp, demo):
    before = db_snapshot()
    reply = ship(whatsapp, {**DEMO_ADDRESS, "in_pin_code": "110001"})
    assert reply.status == 427
    assert reply.data == {"error_msg": "Sorry, we do not deliver to PIN code 110001."}
    assert db_snapshot() == before


def _without(field):
    address = copy.deepcopy(DEMO_ADDRESS)
    del address[field]
    return address


@pytest.mark.parametrize(
    "address, message",
    [
        (_without("name"), "name: This field cannot be blank."),
        (_without("city"), "city: This field cannot be blank."),
        ({**DEMO_ADDRESS, "in_pin_code": "40005"}, "PIN code: Enter a six-digit Indian PIN code."),
        ({**DEMO_ADDRESS, "in_pin_code": "4000511"}, "Ensure this value has at most 6 characters"),
        ({**DEMO_ADDRESS, "in_pin_code": "40005A"}, "PIN code: Enter a six-digit Indian PIN code."),
        ({**DEMO_ADDRESS, "in_pin_code": "040005"}, "PIN code: Enter a six-digit Indian PIN code."),
        ({**DEMO_ADDRESS, "city": "M" * 101}, "city: Ensure this value has at most 100"),
        ({**DEMO_ADDRESS, "house_number": "123456789"}, "house number: Ensure this value has at"),
        ({**DEMO_ADDRESS, "phone_number": "+91 90000"}, "phone number: Enter 10 to 12 digits"),
    ],
)
def test_invalid_address_is_refused_naming_the_field(whatsapp, demo, address, message):
    before = db_snapshot()
    reply = ship(whatsapp, address)
    assert reply.status == 427
    assert reply.data["error_msg"].startswith("Please check the address. ")
    assert message in reply.data["error_msg"]
    assert db_snapshot() == before


@pytest.mark.parametrize(
    "value, message",
    [
        (["Mumbai"], "The address's city must be text."),
        ({"x": 1}, "The address's city must be text."),
        (True, "The address's city must be text."),
        ("Mum\x00bai", "The address's city contains characters that are not text."),
        ("Mum\ud800bai", "The address's city contains characters that are not text."),
    ],
)
def test_address_values_that_are_not_text_are_refused(whatsapp, demo, value, message):
    before = db_snapshot()
    reply = ship(whatsapp, {**DEMO_ADDRESS, "city": value})
    assert (reply.status, reply.data) == (427, {"error_msg": message})
    assert db_snapshot() == before


def test_pincode_as_a_number_and_unknown_fields_are_accepted(whatsapp, demo):
    reply = ship(whatsapp, {**DEMO_ADDRESS, "in_pin_code": 400051, "unknown": "ignored"})
    assert reply.status == 200
    assert reply.data["data"]["order_details"]["shipping_info"]["selected_address"] == DEMO_ADDRESS


@pytest.mark.parametrize("prefix", ["0", "4000511", "40a", " 4"])
def test_rule_prefix_must_be_digits(db, prefix):
    with pytest.raises(ValidationError, match="Enter 1 to 6 digits"):
        ShippingRule(name="x", pincode_prefix=prefix, cost=1).full_clean()


def test_only_one_default_rule(db):
    ShippingRule.objects.create(name="Default", pincode_prefix="", cost=1)
    with pytest.raises(ValidationError, match="already exists"):
        ShippingRule(name="Another default", pincode_prefix="", cost=2).full_clean()


def test_demo_load_adds_the_rule_once(demo):
    from config.demo import demo_load

    demo_load()
    assert list(ShippingRule.objects.values_list("pincode_prefix", "cost")) == [("400051", 40000)]


def test_admin_lists_and_adds_rules_in_rupees(admin_client, db):
    ShippingRule.objects.create(name="Mumbai", pincode_prefix="400", cost=30000, free_above=500000)
    listing = admin_client.get("/admin/checkout/shippingrule/")
    assert listing.status_code == 200
    assert b"400\xe2\x80\xa6" in listing.content and b"5,000.00" in listing.content
    assert "₹300.00" in listing.content.decode() and "₹5,000.00" in listing.content.decode()
    add = "/admin/checkout/shippingrule/add/"
    response = admin_client.post(
        add, {"name": "Default", "pincode_prefix": "", "cost": "99.00", "is_active": "on"}
    )
    assert response.status_code == 302
    rule = ShippingRule.objects.get(pincode_prefix="")
    assert (rule.cost, rule.free_above) == (9900, None)
    response = admin_client.post(add, {"name": "Pune", "pincode_prefix": "411", "cost": "ninety"})
    assert response.status_code == 200
    assert "is not an amount in rupees" in response.content.decode()
    assert not ShippingRule.objects.filter(pincode_prefix="411").exists()
