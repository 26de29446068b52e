"""orders.intake: WhatsApp-order_details-shaped bodies into orders (the API's and CSV import's
one service). Every refusal names its field as sent and stores nothing."""

import copy
from datetime import UTC, datetime, timedelta

import pytest

from orders.errors import OrderConflictError, OrderError, OrderInputError
from orders.intake import (
    order_as_payload,
    order_create_from_payload,
    order_payload_contribute_register,
    order_payloads_check,
    order_update_from_payload,
    orders_create_checked,
)
from orders.intake import payload as payload_module
from orders.models import Order, OrderAddress, OrderEvent, OrderItem, OrderReference
from orders.services import order_status_change

from .intake_bodies import SAMPLE, sample, three_items

pytestmark = pytest.mark.django_db


def _nothing_stored():
    assert Order.objects.count() == 0
    assert OrderItem.objects.count() == 0
    assert OrderAddress.objects.count() == 0
    assert OrderEvent.objects.count() == 0


def _refused(data, error_class=OrderInputError):
    with pytest.raises(error_class) as caught:
        order_create_from_payload(data=data, source="api")
    return caught.value


def test_the_sample_creates_the_reference_order_with_total_165000():
    order, created = order_create_from_payload(data=sample(), source="api")
    assert created is True
    assert order.totals.total == 165000
    assert (order.customer_phone, order.discount_description) == (
        "+919000090000",
        "Additional 10% off",
    )
    assert order.items.get().importer_address_line2 == "Bandra Kurla Complex"
    assert order.addresses.get().landmark_area == "Near BKC Circle"
    event = order.events.get()
    assert (event.kind, event.source, event.after) == ("created", "api", "pending")
    payload = order_as_payload(order)
    created_at = payload.pop("created_at")
    updated_at = payload.pop("updated_at")
    assert created_at.endswith("Z") and updated_at.endswith("Z")
    expected = copy.deepcopy(SAMPLE)
    expected["tax"] = {"value": 10000, "offset": 100}
    assert payload == {
        "reference_id": "abc.123_xyz-2",
        "status": "pending",
        "currency": "INR",
        **{key: value for key, value in expected.items() if key != "reference_id"},
        "subtotal": {"value": 150000, "offset": 100},
        "coupon": None,
        "total_amount": {"value": 165000, "offset": 100},
        "references": [],
        "payment_status": "unpaid",  # checkout contributes it (CheckoutConfig.ready)
        "latest_message": None,
    }


def test_the_same_body_again_gives_the_stored_order_and_writes_nothing():
    order, _ = order_create_from_payload(data=sample(), source="api")
    # Equivalent spellings: a phone without +, the optional status and currency, computed totals.
    again = sample(
        customer={"name": "Nidhi Tripathi", "phone": "919000090000"},
        status="pending",
        currency="INR",
        total_amount={"value": 165000, "offset": 100},
        subtotal={"value": 150000, "offset": 100},
    )
    same, created = order_create_from_payload(data=again, source="api")
    assert (same.pk, created) == (order.pk, False)
    assert (Order.objects.count(), OrderEvent.objects.count()) == (1, 1)


def test_a_different_body_for_a_stored_reference_is_a_conflict_naming_the_fields():
    order_create_from_payload(data=sample(), source="api")
    body = sample(shipping={"value": 30000, "offset": 100})
    body["items"][0]["quantity"] = 2
    error = _refused(body, OrderConflictError)
    assert (error.code, error.http_status) == ("conflict", 409)
    assert error.message == (
        "An order with this reference_id exists with a different body: "
        "items[0].quantity, shipping.value."
    )
    assert error.details == [
        {
            "field": "items[0].quantity",
            "code": "differs",
            "message": "Differs from the stored order.",
        },
        {"field": "shipping.value", "code": "differs", "message": "Differs from the stored order."},
    ]
    assert OrderItem.objects.get().quantity == 1
    assert OrderEvent.objects.count() == 1


def _detail(field, code, message):
    return {"field": field, "code": code, "message": message}


REQUIRED = "This field is required."


def _with(path_setter):
    body = sample()
    path_setter(body)
    return body


BAD_BODIES = [
    ("not an object", [], [_detail("body", "invalid_type", "Send a JSON object here.")]),
    (
        "unknown field",
        sample(colour="red"),
        [_detail("colour", "unknown_field", "'colour' is not a field of this object.")],
    ),
    ("no reference", sample(reference_id=""), [_detail("reference_id", "required", REQUIRED)]),
    (
        "bad reference",
        sample(reference_id="abc 123"),
        [
            _detail(
                "reference_id",
                "invalid_reference_id",
                "Use 1 to 35 English letters, digits, underscores, dashes or dots.",
            )
        ],
    ),
    (
        "long reference",
        sample(reference_id="a" * 36),
        [_detail("reference_id", "max_length", "Use at most 35 characters.")],
    ),
    (
        "type",
        sample(type="services"),
        [_detail("type", "invalid_choice", "Use one of: physical-goods, digital-goods.")],
    ),
    ("currency", sample(currency="USD"), [_detail("currency", "invalid_choice", "Use INR.")]),
    (
        "status",
        sample(status="shipped"),
        [_detail("status", "invalid_choice", 'An order comes in pending: send "pending".')],
    ),
    (
        "no customer",
        {k: v for k, v in SAMPLE.items() if k != "customer"},
        [_detail("customer", "required", REQUIRED)],
    ),
    (
        "customer not an object",
        sample(customer="Nidhi"),
        [_detail("customer", "invalid_type", "Send a JSON object here.")],
    ),
    (
        "bad phone",
        sample(customer={"name": "Nidhi", "phone": "12345"}),
        [
            _detail(
                "customer.phone",
                "invalid_phone",
                "'12345' is not a valid WhatsApp number: use E.164, e.g. +919000090000.",
            )
        ],
    ),
    (
        "phone not a string",
        sample(customer={"name": "Nidhi", "phone": ["+919000090000"]}),
        [_detail("customer.phone", "invalid_type", "Send the number as a string.")],
    ),
    (
        "no name",
        sample(customer={"phone": "+919000090000"}),
        [_detail("customer.name", "required", REQUIRED)],
    ),
    (
        "name not a string",
        sample(customer={"name": 7, "phone": "+919000090000"}),
        [_detail("customer.name", "invalid_type", "Send a string here.")],
    ),
    (
        "NUL",
        sample(customer={"name": "Ni\x00dhi", "phone": "+919000090000"}),
        [_detail("customer.name", "invalid", "Remove the NUL character.")],
    ),
    (
        "no payment",
        {k: v for k, v in SAMPLE.items() if k != "payment"},
        [_detail("payment", "required", REQUIRED)],
    ),
    (
        "method",
        sample(payment={"method": "paypal", "configuration_name": "x"}),
        [
            _detail(
                "payment.method",
                "invalid_choice",
                "Use one of: razorpay, payu, billdesk, zaakpay, upi.",
            )
        ],
    ),
    (
        "no configuration",
        sample(payment={"method": "upi"}),
        [_detail("payment.configuration_name", "required", REQUIRED)],
    ),
    (
        "no items",
        sample(items=[]),
        [_detail("items", "required", "Send a list of at least one item.")],
    ),
    (
        "items not a list",
        sample(items={}),
        [_detail("items", "invalid_type", "Send a list of at least one item.")],
    ),
    (
        "item not an object",
        sample(items=[1]),
        [_detail("items[0]", "invalid_type", "Send a JSON object here.")],
    ),
    (
        "quantity 0",
        _with(lambda b: b["items"][0].update(quantity=0)),
        [_detail("items[0].quantity", "out_of_range", "Use a number from 1 to 100.")],
    ),
    (
        "quantity 101",
        _with(lambda b: b["items"][0].update(quantity=101)),
        [_detail("items[0].quantity", "out_of_range", "Use a number from 1 to 100.")],
    ),
    (
        "quantity text",
        _with(lambda b: b["items"][0].update(quantity="1")),
        [_detail("items[0].quantity", "invalid_type", "Send a whole number here.")],
    ),
    (
        "quantity bool",
        _with(lambda b: b["items"][0].update(quantity=True)),
        [_detail("items[0].quantity", "invalid_type", "Send a whole number here.")],
    ),
    (
        "offset",
        _with(lambda b: b["items"][0].update(amount={"value": 200000, "offset": 1000})),
        [
            _detail(
                "items[0].amount.offset",
                "invalid_offset",
                "Use 100: INR amounts are in paise (value x 100).",
            )
        ],
    ),
    (
        "amount 0",
        _with(lambda b: b["items"][0].update(amount={"value": 0, "offset": 100})),
        [
            _detail(
                "items[0].amount.value", "out_of_range", "Use a number from 1 to 100000000000000."
            )
        ],
    ),
    (
        "amount float",
        _with(lambda b: b["items"][0].update(amount={"value": 2000.5, "offset": 100})),
        [_detail("items[0].amount.value", "invalid_type", "Send a whole number here.")],
    ),
    (
        "amount missing value",
        _with(lambda b: b["items"][0].update(amount={"offset": 100})),
        [_detail("items[0].amount.value", "required", REQUIRED)],
    ),
    (
        "amount description",
        _with(
            lambda b: b["items"][0].update(
                amount={"value": 200000, "offset": 100, "description": "x"}
            )
        ),
        [
            _detail(
                "items[0].amount.description",
                "unknown_field",
                "'description' is not a field of this object.",
            )
        ],
    ),
    (
        "sale above price",
        _with(lambda b: b["items"][0].update(sale_amount={"value": 300000, "offset": 100})),
        [
            _detail(
                "items[0].sale_amount.value",
                "above_amount",
                "The sale price cannot be higher than the price.",
            )
        ],
    ),
    (
        "long item name",
        _with(lambda b: b["items"][0].update(name="x" * 61)),
        [_detail("items[0].name", "max_length", "Use at most 60 characters.")],
    ),
    (
        "importer missing",
        _with(lambda b: b["items"][0].pop("importer_address")),
        [_detail("items[0].importer_address", "required", REQUIRED)],
    ),
    (
        "importer zone",
        _with(lambda b: b["items"][0]["importer_address"].update(zone_code="Maharashtra")),
        [_detail("items[0].importer_address.zone_code", "max_length", "Use at most 2 characters.")],
    ),
    (
        "importer pin",
        _with(lambda b: b["items"][0]["importer_address"].update(postal_code="040005")),
        [
            _detail(
                "items[0].importer_address.postal_code",
                "invalid_pin_code",
                "Enter a six-digit Indian PIN code.",
            )
        ],
    ),
    (
        "importer unknown",
        _with(lambda b: b["items"][0]["importer_address"].update(street="x")),
        [
            _detail(
                "items[0].importer_address.street",
                "unknown_field",
                "'street' is not a field of this object.",
            )
        ],
    ),
    (
        "tax description",
        sample(tax={"value": 1, "offset": 100, "description": "x" * 61}),
        [_detail("tax.description", "max_length", "Use at most 60 characters.")],
    ),
    (
        "negative discount",
        sample(discount={"value": -1, "offset": 100}),
        [_detail("discount.value", "out_of_range", "Use a number from 0 to 100000000000000.")],
    ),
    (
        "shipping not an object",
        sample(shipping=200),
        [_detail("shipping", "invalid_type", "Send a JSON object here.")],
    ),
    (
        "addresses not a list",
        sample(addresses={}),
        [_detail("addresses", "invalid_type", "Send a list of addresses.")],
    ),
    (
        "address phone",
        _with(lambda b: b["addresses"][0].update(phone_number="+919000090000")),
        [
            _detail(
                "addresses[0].phone_number",
                "max_length",
                "Use at most 12 characters.",
            )
        ],
    ),
    (
        "address pin",
        _with(lambda b: b["addresses"][0].update(in_pin_code="4000")),
        [
            _detail(
                "addresses[0].in_pin_code", "invalid_pin_code", "Enter a six-digit Indian PIN code."
            )
        ],
    ),
    (
        "address missing city",
        _with(lambda b: b["addresses"][0].pop("city")),
        [_detail("addresses[0].city", "required", REQUIRED)],
    ),
    (
        "expiration text",
        sample(expiration={"timestamp": "tomorrow"}),
        [_detail("expiration.timestamp", "invalid_type", 'Send unix seconds, e.g. "1767225600".')],
    ),
    (
        "expiration past",
        sample(expiration={"timestamp": "1726627150"}),
        [_detail("expiration.timestamp", "in_past", "The expiration must be in the future.")],
    ),
    (
        "expiration huge",
        sample(expiration={"timestamp": 10**15}),
        [_detail("expiration.timestamp", "out_of_range", "Send unix seconds of a real date.")],
    ),
    (
        "expiration description",
        sample(expiration={"timestamp": "4102444800", "description": "soon"}),
        [_detail("expiration.description", "unknown_field", "Only expiration.timestamp is kept.")],
    ),
    (
        "header http",
        sample(header_image={"link": "http://shop.example/a.jpg"}),
        [_detail("header_image.link", "invalid_url", "Send an https:// link to the image.")],
    ),
    (
        "total mismatch",
        sample(total_amount={"value": 150000, "offset": 100}),
        [
            _detail(
                "total_amount.value",
                "mismatch",
                "The order adds up to 165000 (offset 100), not 150000.",
            )
        ],
    ),
]


@pytest.mark.parametrize(
    ("body", "details"), [(b, d) for _, b, d in BAD_BODIES], ids=[n for n, _, _ in BAD_BODIES]
)
def test_every_problem_is_named_by_its_path_and_nothing_is_stored(body, details):
    error = _refused(body)
    assert (error.code, error.message, error.http_status) == (
        "invalid",
        "The order is not valid: see details.",
        400,
    )
    assert error.details == details
    _nothing_stored()


def test_all_problems_of_a_body_are_listed_at_once():
    body = sample(reference_id="", shipping={"value": "1", "offset": 100})
    body["items"][0]["quantity"] = 0
    body["addresses"][0]["in_pin_code"] = "1"
    error = _refused(body)
    assert [detail["field"] for detail in error.details] == [
        "reference_id",
        "items[0].quantity",
        "shipping.value",
        "addresses[0].in_pin_code",
    ]
    _nothing_stored()


def test_a_reference_issued_for_another_orders_resend_is_refused():
    other, _ = order_create_from_payload(data=sample(reference_id="shop-9"), source="api")
    OrderReference.objects.create(order=other, reference_id="shop-9-2", sequence=2)
    error = _refused(sample(reference_id="shop-9-2"))
    assert error.details == [
        _detail(
            "reference_id",
            "reference_taken",
            "shop-9-2 is the checkout reference of another order's resent message.",
        )
    ]
    assert Order.objects.count() == 1


def test_optional_fields_are_stored_and_shown():
    body = sample(
        type="digital-goods",
        expiration={"timestamp": 4102444800},
        header_image={"link": "https://shop.example/a.jpg"},
        payment={"method": "upi", "configuration_name": "upi-1"},
        addresses=[],
    )
    body["items"][0]["retailer_id"] = "SKU-1"
    del body["items"][0]["sale_amount"]
    order, _ = order_create_from_payload(data=body, source="api")
    assert order.expires_at == datetime(2100, 1, 1, tzinfo=UTC)
    payload = order_as_payload(order)
    assert payload["expiration"] == {"timestamp": "4102444800"}
    assert payload["header_image"] == {"link": "https://shop.example/a.jpg"}
    assert payload["items"][0]["retailer_id"] == "SKU-1"
    assert "sale_amount" not in payload["items"][0]
    assert payload["total_amount"] == {"value": 215000, "offset": 100}


def test_many_bodies_are_checked_then_created_in_one_go():
    bodies = [three_items(f"bulk-{n}") for n in range(5)]
    assert order_payloads_check(payloads=bodies) == [[]] * 5
    results = orders_create_checked(payloads=bodies, source="system")
    assert [(o.reference_id, created) for o, created in results] == [
        (f"bulk-{n}", True) for n in range(5)
    ]
    assert (Order.objects.count(), OrderItem.objects.count(), OrderEvent.objects.count()) == (
        5,
        15,
        5,
    )
    assert {o.totals.total for o in Order.objects.all()} == {165000 + 2 * 150000 + 3 * 150000}
    again = orders_create_checked(payloads=bodies[:2] + [three_items("bulk-new")], source="system")
    assert [created for _, created in again] == [False, False, True]


def test_one_bad_body_among_many_stores_nothing_and_each_problem_has_its_index():
    order_create_from_payload(data=sample(reference_id="stored"), source="api")
    bad = three_items("b-2")
    bad["items"][1]["quantity"] = 0
    bodies = [
        three_items("b-1"),
        bad,
        three_items("b-1"),
        sample(reference_id="stored", tax={"value": 1, "offset": 100}),
    ]
    problems = order_payloads_check(payloads=bodies)
    assert problems == [
        [],
        [_detail("items[1].quantity", "out_of_range", "Use a number from 1 to 100.")],
        [_detail("reference_id", "duplicate", "b-1 is also the reference_id of body 1.")],
        [_detail("tax.value", "differs", "Differs from the stored order.")],
    ]
    with pytest.raises(OrderInputError) as caught:
        orders_create_checked(payloads=bodies, source="system")
    assert caught.value.message == "3 of 4 orders are not valid: see details."
    assert caught.value.details == [
        {"index": 1, **problems[1][0]},
        {"index": 2, **problems[2][0]},
        {"index": 3, **problems[3][0]},
    ]
    assert Order.objects.count() == 1


def test_update_replaces_what_is_sent_while_pending_and_records_it():
    order, _ = order_create_from_payload(data=sample(), source="api")
    body = sample(shipping={"value": 40000, "offset": 100})
    body["items"][0]["quantity"] = 2
    order = order_update_from_payload(order=order, data=body, source="api")
    assert order.totals.total == 165000 + 150000 + 20000
    history = [(e.kind, e.field, e.before, e.after) for e in order.events.all()]
    assert history == [
        ("created", "status", None, "pending"),
        ("amounts", "subtotal", 150000, 300000),
        ("shipping_cost", "shipping", 20000, 40000),
    ]
    partial = order_update_from_payload(
        order=order, data={"tax": {"value": 0, "offset": 100}}, source="api", partial=True
    )
    assert (partial.tax, partial.items.get().quantity) == (0, 2)


def test_update_refusals_store_nothing():
    order, _ = order_create_from_payload(data=sample(), source="api")
    with pytest.raises(OrderInputError) as caught:
        order_update_from_payload(order=order, data=sample(reference_id="other"), source="api")
    assert caught.value.details == [
        _detail("reference_id", "read_only", "The reference_id of an order cannot change.")
    ]
    with pytest.raises(OrderInputError) as caught:
        order_update_from_payload(order=order, data={"items": []}, source="api", partial=True)
    assert caught.value.details == [
        _detail("items", "required", "Send a list of at least one item.")
    ]
    order_status_change(order=order, status="processing", source="system")
    with pytest.raises(OrderError) as caught:
        order_update_from_payload(order=order, data=sample(), source="api")
    assert (caught.value.code, caught.value.message) == (
        "not_pending",
        "Order abc.123_xyz-2 is processing: only a pending order can be changed.",
    )
    order.refresh_from_db()
    assert (order.tax, order.items.get().quantity) == (10000, 1)
    assert order.events.count() == 2


def test_apps_above_contribute_to_the_payload(monkeypatch):
    monkeypatch.setattr(payload_module, "_CONTRIBUTORS", [])
    order, _ = order_create_from_payload(data=sample(), source="api")

    def contributor(*, orders):
        return {
            o.pk: {"payment_status": "paid", "latest_message": {"status": "read"}} for o in orders
        }

    order_payload_contribute_register(contributor=contributor)
    order_payload_contribute_register(contributor=contributor)
    payload = order_as_payload(order)
    assert (payload["payment_status"], payload["latest_message"]) == ("paid", {"status": "read"})
    assert payload_module._CONTRIBUTORS == [contributor]


def test_a_new_order_gets_the_contributors_new_order_values_without_calling_them(monkeypatch):
    monkeypatch.setattr(payload_module, "_CONTRIBUTORS", [])
    monkeypatch.setattr(payload_module, "_NEW_ORDER_VALUES", {})
    order, _ = order_create_from_payload(data=sample(), source="api")
    calls = []

    def contributor(*, orders):
        calls.append(orders)
        return {o.pk: {"payment_status": "paid"} for o in orders}

    order_payload_contribute_register(contributor=contributor, new_order={"payment_status": "no"})
    assert order_as_payload(order, new=True)["payment_status"] == "no"
    assert calls == []
    assert order_as_payload(order)["payment_status"] == "paid"
    assert calls == [[order]]


def test_the_answer_to_a_create_shows_a_new_order_unpaid_and_without_messages():
    """What the apps above register for a new order is what their reads give one."""
    order, _ = order_create_from_payload(data=sample(), source="api")
    assert order_as_payload(order, new=True) == order_as_payload(Order.objects.get(pk=order.pk))


def test_an_expiration_ahead_is_kept_on_retry_even_as_time_passes():
    ahead = int((datetime.now(UTC) + timedelta(days=1)).timestamp())
    body = sample(expiration={"timestamp": str(ahead)})
    order, _ = order_create_from_payload(data=body, source="api")
    assert order_payloads_check(payloads=[body]) == [[]]
