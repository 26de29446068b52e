"""/api/v1/ sending (the admin's services and queueing) and the read-only messages and batches."""

import pytest

from messaging.models import SendBatch, SentMessage
from orders.models import Order

from ..orders.intake_bodies import sample

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(api, kaleyra):
    assert api.post("/api/v1/orders/", sample(), format="json").status_code == 201
    return Order.objects.get()


def _batch_json(response):
    body = dict(response.json())
    body.pop("created_at")
    body.pop("id")
    body.pop("name")
    return body


COUNTS_ONE_QUEUED = {
    "queued": 1,
    "sending": 0,
    "accepted": 0,
    "sent": 0,
    "delivered": 0,
    "read": 0,
    "failed": 0,
    "not_sent": 0,
    "unknown": 0,
}


def test_send_checkout_queues_through_the_admins_service_and_answers_the_batch(
    api, order, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post("/api/v1/orders/abc.123_xyz-2/send-checkout/", {}, format="json")
    assert response.status_code == 201
    assert len(callbacks) == 1  # the batch's dispatch, published after the commit
    assert _batch_json(response) == {
        "kind": "order_details",
        "template_name": "order_details",
        "language": "en_US",
        "requested": 1,
        "counts": COUNTS_ONE_QUEUED,
        "refused": [],
    }
    message = SentMessage.objects.get()
    assert message.batch_id == response.json()["id"]
    assert message.ref == "abc.123_xyz-2"
    got = api.get("/api/v1/orders/abc.123_xyz-2/").json()
    assert got["references"] == ["abc.123_xyz-2"]
    assert got["latest_message"]["status"] == "queued"
    assert got["latest_message"]["kind"] == "order_details"


def test_send_status_moves_the_order_and_refuses_with_reasons(api, order):
    response = api.post(
        "/api/v1/orders/abc.123_xyz-2/send-status/",
        {"status": "shipped", "description": "On its way"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["kind"] == "order_status"
    order.refresh_from_db()
    assert order.status == "shipped"
    again = api.post(
        "/api/v1/orders/abc.123_xyz-2/send-status/", {"status": "pending"}, format="json"
    )
    assert again.status_code == 400
    assert again.json()["details"][0]["field"] == "status"
    back = api.post(
        "/api/v1/orders/abc.123_xyz-2/send-status/", {"status": "processing"}, format="json"
    )
    assert back.status_code == 409
    body = back.json()
    assert body["code"] == "refused"
    assert body["details"][0]["field"] == "abc.123_xyz-2"
    assert "shipped" in body["details"][0]["message"]
    assert SendBatch.objects.count() == 1


def test_send_checkout_refused_for_a_canceled_order_stores_no_batch(api, order):
    api.post("/api/v1/orders/abc.123_xyz-2/cancel/")
    response = api.post("/api/v1/orders/abc.123_xyz-2/send-checkout/", {}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "refused"
    assert not SendBatch.objects.exists()
    assert not SentMessage.objects.exists()


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"header_image_url": "not a link"}, "header_image_url", "invalid"),
        ({"ref": 5}, "ref", "invalid_type"),
        ({"colour": "red"}, "colour", "unknown_field"),
    ],
)
def test_bad_send_options_are_400_and_nothing_is_queued(api, order, body, field, code):
    response = api.post("/api/v1/orders/abc.123_xyz-2/send-checkout/", body, format="json")
    assert response.status_code == 400
    assert response.json()["details"][0] == {
        "field": field,
        "code": code,
        "message": response.json()["details"][0]["message"],
    }
    assert not SentMessage.objects.exists()


def test_send_to_an_unknown_order_or_coupon_is_404(api, kaleyra):
    assert api.post("/api/v1/orders/nope/send-checkout/", {}, format="json").status_code == 404
    response = api.post(
        "/api/v1/coupons/NOPE/send/", {"recipients": ["+919812345601"]}, format="json"
    )
    assert response.status_code == 404
    assert response.json() == {
        "code": "not_found",
        "message": "No coupon has the code NOPE.",
        "details": [],
    }


def test_coupon_send_queues_valid_numbers_and_lists_refused_ones(api, demo, kaleyra):
    response = api.post(
        "/api/v1/coupons/TRYNEW10/send/",
        {"recipients": ["+919812345601", "98123 45602", "12"], "ref2": "diwali"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "coupon_code"
    assert body["requested"] == 3
    assert body["counts"]["queued"] == 2
    assert [r["target"] for r in body["refused"]] == ["12"]
    assert set(SentMessage.objects.values_list("ref2", flat=True)) == {"diwali"}


@pytest.mark.parametrize("recipients", [None, [], "919812345601", [1]])
def test_coupon_send_needs_a_list_of_numbers(api, demo, kaleyra, recipients):
    response = api.post("/api/v1/coupons/TRYNEW10/send/", {"recipients": recipients}, format="json")
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "recipients"
    assert not SentMessage.objects.exists()


def test_sending_with_an_idempotency_key_queues_once(api, order):
    url = "/api/v1/orders/abc.123_xyz-2/send-checkout/"
    first = api.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="send-1")
    again = api.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="send-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert SentMessage.objects.count() == 1


def test_messages_and_batches_list_filter_and_show(api, order, demo):
    api.post("/api/v1/orders/abc.123_xyz-2/send-checkout/", {}, format="json")
    api.post("/api/v1/orders/abc.123_xyz-1/send-checkout/", {"ref": "camp"}, format="json")
    listed = api.get("/api/v1/messages/").json()
    assert [m["order"] for m in listed["results"]] == ["abc.123_xyz-1", "abc.123_xyz-2"]
    one = listed["results"][1]
    assert api.get(f"/api/v1/messages/{one['id']}/").json() == one
    assert one["recipient"] == "+919000090000"
    assert one["status"] == "queued"
    by_order = api.get("/api/v1/messages/", {"order": "abc.123_xyz-2"}).json()["results"]
    assert [m["id"] for m in by_order] == [one["id"]]
    by_ref = api.get("/api/v1/messages/", {"ref": "camp"}).json()["results"]
    assert [m["order"] for m in by_ref] == ["abc.123_xyz-1"]
    assert len(api.get("/api/v1/messages/", {"phone": "9000090000"}).json()["results"]) == 2
    assert api.get("/api/v1/messages/", {"status": "read"}).json()["results"] == []
    batches = api.get("/api/v1/batches/").json()["results"]
    assert len(batches) == 2
    shown = api.get(f"/api/v1/batches/{batches[0]['id']}/").json()
    assert shown == batches[0]
    camp = api.get("/api/v1/batches/", {"ref": "camp"}).json()["results"]
    assert [b["id"] for b in camp] == [batches[0]["id"]]
    assert api.get("/api/v1/batches/", {"kind": "coupon_code"}).json()["results"] == []
    assert api.get("/api/v1/batches/", {"status": "queued"}).json()["results"] == batches


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/messages/", {"status": "lost"}, "status"),
        ("/api/v1/messages/", {"phone": "1"}, "phone"),
        ("/api/v1/messages/", {"batch": "x"}, "batch"),
        ("/api/v1/batches/", {"kind": "fax"}, "kind"),
        ("/api/v1/batches/", {"status": "lost"}, "status"),
    ],
)
def test_bad_message_filters_are_400(api, path, params, field):
    response = api.get(path, params)
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == field


def test_unknown_message_or_batch_is_404(api):
    assert api.get("/api/v1/messages/999/").json()["code"] == "not_found"
    assert api.get("/api/v1/batches/999/").status_code == 404
