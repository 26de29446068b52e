"""/api/v1/orders/: create, retrieve, list, update, cancel; exact JSON on the wire; every
refusal stores nothing."""

import copy

import pytest
from django.utils import timezone

from orders.models import Order, OrderEvent, OrderItem
from orders.services import order_status_change

from .intake_bodies import sample, three_items

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders/"


def _order_json(response):
    body = dict(response.json())
    body.pop("created_at")
    body.pop("updated_at")
    return body


EXPECTED = {
    "reference_id": "abc.123_xyz-2",
    "status": "pending",
    "currency": "INR",
    "type": "physical-goods",
    "customer": {"name": "Nidhi Tripathi", "phone": "+919000090000"},
    "payment": {"method": "razorpay", "configuration_name": "prod-razor-pay-config-05"},
    "items": sample()["items"],
    "shipping": {"value": 20000, "offset": 100},
    "tax": {"value": 10000, "offset": 100},
    "discount": {"value": 15000, "offset": 100, "description": "Additional 10% off"},
    "addresses": sample()["addresses"],
    "subtotal": {"value": 150000, "offset": 100},
    "coupon": None,
    "total_amount": {"value": 165000, "offset": 100},
    "references": [],
    "payment_status": "unpaid",
    "latest_message": None,
}


def test_post_the_sample_answers_201_with_the_order_as_get_shows_it(api):
    response = api.post(URL, sample(), format="json")
    assert response.status_code == 201
    assert _order_json(response) == EXPECTED
    got = api.get(f"{URL}abc.123_xyz-2/")
    assert got.status_code == 200
    assert got.json() == response.json()
    assert OrderEvent.objects.get().source == "api"


def test_the_same_body_again_answers_200_with_the_stored_order(api):
    first = api.post(URL, sample(), format="json")
    again = api.post(URL, sample(), format="json")
    assert again.status_code == 200
    assert again.json() == first.json()
    assert Order.objects.count() == 1


def test_another_body_for_the_reference_answers_409_naming_the_fields(api):
    api.post(URL, sample(), format="json")
    body = sample()
    body["items"][0]["quantity"] = 3
    response = api.post(URL, body, format="json")
    assert response.status_code == 409
    assert response.json() == {
        "code": "conflict",
        "message": "An order with this reference_id exists with a different body: "
        "items[0].quantity.",
        "details": [
            {
                "field": "items[0].quantity",
                "code": "differs",
                "message": "Differs from the stored order.",
            }
        ],
    }
    assert OrderItem.objects.get().quantity == 1


def test_a_bad_body_answers_400_with_each_field_and_stores_nothing(api):
    body = sample()
    body["items"][0]["quantity"] = 0
    body["customer"]["phone"] = "123"
    response = api.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid",
        "message": "The order is not valid: see details.",
        "details": [
            {
                "field": "customer.phone",
                "code": "invalid_phone",
                "message": "'123' is not a valid WhatsApp number: use E.164, e.g. +919000090000.",
            },
            {
                "field": "items[0].quantity",
                "code": "out_of_range",
                "message": "Use a number from 1 to 100.",
            },
        ],
    }
    assert not Order.objects.exists()
    assert not OrderEvent.objects.exists()


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        ("{not json", "application/json", 400, "parse_error"),
        ("[1, 2]", "application/json", 400, "invalid"),
        ("reference_id=x", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    ],
)
def test_bodies_that_are_not_an_order_object_are_refused(api, content, content_type, status, code):
    response = api.generic("POST", URL, content, content_type=content_type)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert set(response.json()) == {"code", "message", "details"}
    assert not Order.objects.exists()


def test_unknown_reference_is_404(api):
    response = api.get(f"{URL}nope/")
    assert response.status_code == 404
    assert response.json() == {
        "code": "not_found",
        "message": "No order has the reference_id nope.",
        "details": [],
    }


def _create(api, reference_id, **changes):
    body = three_items(reference_id)
    body.update(changes)
    assert api.post(URL, body, format="json").status_code == 201
    return Order.objects.get(reference_id=reference_id)


def test_list_filters_and_pages_with_a_cursor(api):
    for n in range(5):
        _create(api, f"list-{n}")
    other = _create(api, "list-other", customer={"name": "Aarav Sharma", "phone": "+919812345601"})
    order_status_change(order=other, status="processing", source="system")
    page = api.get(URL, {"page_size": 2})
    assert page.status_code == 200
    body = page.json()
    assert [o["reference_id"] for o in body["results"]] == ["list-other", "list-4"]
    assert body["previous"] is None
    following = api.get(body["next"]).json()
    assert [o["reference_id"] for o in following["results"]] == ["list-3", "list-2"]
    by_status = api.get(URL, {"status": "processing"}).json()["results"]
    assert [o["reference_id"] for o in by_status] == ["list-other"]
    by_phone = api.get(URL, {"phone": "98123 45601"}).json()["results"]
    assert [o["reference_id"] for o in by_phone] == ["list-other"]
    unpaid = api.get(URL, {"payment_status": "unpaid"}).json()["results"]
    assert len(unpaid) == 6
    assert api.get(URL, {"payment_status": "paid"}).json()["results"] == []
    future = (timezone.now() + timezone.timedelta(hours=1)).isoformat()
    assert api.get(URL, {"created_since": future}).json()["results"] == []
    assert len(api.get(URL, {"updated_since": "2000-01-01T00:00:00Z"}).json()["results"]) == 6


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        (
            {"status": "lost"},
            "status",
            "Use one of: pending, processing, partially_shipped, shipped, completed, canceled.",
        ),
        ({"phone": "12"}, "phone", "Not a valid phone number."),
        (
            {"created_since": "yesterday"},
            "created_since",
            "Use an ISO 8601 time with its zone, e.g. 2026-12-01T00:00:00Z.",
        ),
        (
            {"updated_since": "2026-12-01T00:00:00"},
            "updated_since",
            "Use an ISO 8601 time with its zone, e.g. 2026-12-01T00:00:00Z.",
        ),
        (
            {"payment_status": "rich"},
            "payment_status",
            "Use one of: unpaid, pending, paid, failed, refunded, partially_refunded.",
        ),
        ({"page_size": "0"}, "page_size", "Use 1 to 500."),
        ({"cursor": "garbage"}, "cursor", "Not a cursor."),
    ],
)
def test_bad_list_filters_are_400_naming_the_parameter(api, params, field, message):
    response = api.get(URL, params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["details"] == [{"field": field, "code": "invalid", "message": message}]


def test_put_replaces_and_patch_changes_what_is_sent_while_pending(api):
    api.post(URL, sample(), format="json")
    body = sample(shipping={"value": 40000, "offset": 100})
    response = api.put(f"{URL}abc.123_xyz-2/", body, format="json")
    assert response.status_code == 200
    assert response.json()["total_amount"] == {"value": 185000, "offset": 100}
    patched = api.patch(f"{URL}abc.123_xyz-2/", {"tax": {"value": 0, "offset": 100}}, format="json")
    assert patched.status_code == 200
    assert patched.json()["total_amount"] == {"value": 175000, "offset": 100}
    assert patched.json()["shipping"] == {"value": 40000, "offset": 100}


def test_update_refusals_answer_the_error_and_change_nothing(api):
    api.post(URL, sample(), format="json")
    bad = api.patch(f"{URL}abc.123_xyz-2/", {"items": [{"name": "x"}]}, format="json")
    assert bad.status_code == 400
    assert [d["field"] for d in bad.json()["details"]] == [
        "items[0].quantity",
        "items[0].amount",
        "items[0].country_of_origin",
        "items[0].importer_name",
        "items[0].importer_address",
    ]
    renamed = api.patch(f"{URL}abc.123_xyz-2/", {"reference_id": "new"}, format="json")
    assert renamed.status_code == 400
    assert renamed.json()["details"][0]["code"] == "read_only"
    order = Order.objects.get()
    order_status_change(order=order, status="shipped", source="system")
    late = api.put(f"{URL}abc.123_xyz-2/", sample(), format="json")
    assert late.status_code == 409
    assert late.json() == {
        "code": "not_pending",
        "message": "Order abc.123_xyz-2 is shipped: only a pending order can be changed.",
        "details": [],
    }
    assert OrderItem.objects.get().quantity == 1
    assert api.put(f"{URL}nope/", sample(), format="json").status_code == 404


def test_cancel_moves_through_the_status_service_and_refusals_are_409(api):
    api.post(URL, sample(), format="json")
    response = api.post(f"{URL}abc.123_xyz-2/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "canceled"
    event = OrderEvent.objects.filter(kind="status").get()
    assert (event.source, event.before, event.after) == ("api", "pending", "canceled")
    again = api.post(f"{URL}abc.123_xyz-2/cancel/")
    assert again.status_code == 409
    assert again.json() == {
        "code": "illegal_status_move",
        "message": "An order cannot move from 'canceled' to 'canceled' (it is final).",
        "details": [],
    }
    assert OrderEvent.objects.filter(kind="status").count() == 1
    assert api.post(f"{URL}nope/cancel/").status_code == 404


def test_many_items_and_optional_fields_round_trip(api):
    body = three_items("round-1")
    body["expiration"] = {"timestamp": "4102444800"}
    body["header_image"] = {"link": "https://shop.example/a.jpg"}
    response = api.post(URL, body, format="json")
    assert response.status_code == 201
    shown = response.json()
    for key in ("items", "expiration", "header_image", "addresses"):
        assert shown[key] == body[key]
    assert shown["total_amount"]["value"] == 165000 + 5 * 150000
    retry = copy.deepcopy(shown)
    for key in (
        "status",
        "subtotal",
        "coupon",
        "references",
        "payment_status",
        "latest_message",
        "created_at",
        "updated_at",
    ):
        retry.pop(key)
    assert api.post(URL, retry, format="json").status_code == 200


def test_any_other_api_path_is_a_json_404(api):
    response = api.get("/api/v1/messages/null/")
    assert response.status_code == 404
    assert response.json() == {
        "code": "not_found",
        "message": "No API endpoint at /api/v1/messages/null/.",
        "details": [],
    }
