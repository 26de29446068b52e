"""Admin actions through the Django test client, permissions included."""

import json
from unittest import mock

import pytest
from django.urls import reverse

from messaging.models import SendBatch, SentMessage
from tests.factories import CouponFactory, OrderFactory, OrderItemFactory, SentMessageFactory

from .conftest import staff

pytestmark = pytest.mark.django_db

ORDERS = "/admin/orders/order/"
COUPONS = "/admin/coupons/coupon/"
MESSAGES = "/admin/messaging/sentmessage/"


def pending_order(**kwargs):
    order = OrderFactory(**kwargs)
    OrderItemFactory(order=order)
    return order


def action_names(response):
    form = response.context["action_form"]
    return [name for name, _ in form.fields["action"].choices] if form else []


def test_actions_hidden_and_refused_without_the_send_permission(client):
    client.force_login(staff("view_order", "change_order"))
    order = pending_order()
    response = client.get(ORDERS)
    assert "send_order_details" not in action_names(response)
    response = client.post(
        ORDERS,
        {"action": "send_order_details", "index": 0, "_selected_action": [order.pk], "_send": "1"},
    )
    assert "messaging/send_form.html" not in [t.name for t in response.templates]
    assert not SentMessage.objects.exists() and not order.references.exists()


def test_actions_shown_with_the_permission(client, operator):
    assert {"send_order_details", "send_order_status"} <= set(action_names(client.get(ORDERS)))
    assert "send_coupon_code" in action_names(client.get(COUPONS))


def test_order_details_intermediate_page_previews_json_and_lists_refusals(
    client, operator, kaleyra
):
    good = pending_order(customer_phone="+919000090011")
    shipped = pending_order(status="shipped")
    response = client.post(
        ORDERS,
        {"action": "send_order_details", "index": 0, "_selected_action": [good.pk, shipped.pk]},
    )
    assert response.status_code == 200
    assert response.templates[0].name == "messaging/send_form.html"
    preview = json.loads(response.context["preview"])
    assert preview["messaging_object"]["to"] == "+919000090011"
    assert [r.target for r in response.context["result"].refused] == [shipped.reference_id]
    assert shipped.reference_id in response.content.decode()
    assert not SentMessage.objects.exists() and not good.references.exists()


def test_order_details_send_queues_a_batch_and_opens_its_page(
    client, operator, kaleyra, django_capture_on_commit_callbacks
):
    order = pending_order()
    form = {
        "action": "send_order_details",
        "index": 0,
        "_selected_action": [order.pk],
        "template_name": "ord_det_temp1",
        "language": "en_US",
        "header_image_url": "https://shop.example/img.jpg",
        "wa_source": "api",
        "_send": "Send",
    }
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(ORDERS, form)
    batch = SendBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:messaging_sendbatch_change", args=[batch.pk])
    assert len(callbacks) == 1
    message = batch.messages.get()
    assert (batch.created_by, message.template_name) == (operator, "ord_det_temp1")
    header = message.payload["messaging_object"]["template"]["components"][0]
    assert header["parameters"][0]["image"]["link"] == "https://shop.example/img.jpg"
    page = client.get(response["Location"])
    assert page.status_code == 200 and "batch-progress" in page.content.decode()
    progress = client.get(reverse("admin:messaging_sendbatch_progress", args=[batch.pk])).json()
    assert progress["counts"]["queued"] == 1 and progress["total"] == 1
    assert progress["finished"] is False and progress["pause"] is None


def test_order_status_form_checks_description_and_refuses_illegal_moves(client, operator, kaleyra):
    done = pending_order(status="completed")
    base = {"action": "send_order_status", "index": 0, "_selected_action": [done.pk]}
    form = {**base, "template_name": "upd", "language": "en_US", "status": "shipped"}
    response = client.post(ORDERS, {**form, "description": "x" * 121, "_preview": "1"})
    assert "description" in response.context["form"].errors
    response = client.post(ORDERS, {**form, "description": "Shipped!", "_preview": "1"})
    assert [r.code for r in response.context["result"].refused] == ["illegal_status_move"]
    response = client.post(ORDERS, {**form, "description": "Shipped!", "_send": "1"})
    assert response.status_code == 302 and not SendBatch.objects.exists()
    done.refresh_from_db()
    assert done.status == "completed"


def test_coupon_action_needs_exactly_one_coupon(client, operator):
    coupons = CouponFactory.create_batch(2)
    response = client.post(
        COUPONS,
        {"action": "send_coupon_code", "index": 0, "_selected_action": [c.pk for c in coupons]},
    )
    assert response.status_code == 302
    assert not SendBatch.objects.exists()


def test_coupon_form_asks_for_recipients(client, operator):
    coupon = CouponFactory()
    response = client.post(
        COUPONS,
        {
            "action": "send_coupon_code",
            "index": 0,
            "_selected_action": [coupon.pk],
            "template_name": "cc",
            "language": "en_US",
            "_preview": "1",
        },
    )
    assert response.context["form"].non_field_errors()


def test_sent_message_admin_shows_json_and_error_and_searches(client, operator):
    message = SentMessageFactory(
        status="failed",
        error_code="WA400",
        error_message="Refer to correct payload format",
        provider_message_id="KMID-77",
    )
    page = client.get(reverse("admin:messaging_sentmessage_change", args=[message.pk]))
    content = page.content.decode()
    assert "WA400: Refer to correct payload format" in content
    assert "COPY_CODE" in content
    listing = client.get(MESSAGES, {"q": "KMID-77"})
    assert list(listing.context["cl"].result_list) == [message]
    assert (
        client.get(MESSAGES, {"status__exact": "failed", "kind__exact": "coupon_code"}).status_code
        == 200
    )


def test_retry_failed_asks_before_resending_permanent_failures(
    client, operator, django_capture_on_commit_callbacks
):
    transient = SentMessageFactory(status="failed", error_code="WA500")
    permanent = SentMessageFactory(status="failed", error_code="WA401")
    form = {"action": "retry_failed", "index": 0, "_selected_action": [transient.pk, permanent.pk]}
    response = client.post(MESSAGES, form)
    assert response.templates[0].name == "messaging/retry_confirm.html"
    transient.refresh_from_db()
    permanent.refresh_from_db()
    assert (transient.status, permanent.status) == ("queued", "failed")
    response = client.post(MESSAGES, {**form, "confirm_risky": "yes"})
    assert response.status_code == 302
    permanent.refresh_from_db()
    assert permanent.status == "queued"


def test_retry_action_needs_the_send_permission(client):
    client.force_login(staff("view_sentmessage"))
    message = SentMessageFactory(status="failed", error_code="WA500")
    client.post(MESSAGES, {"action": "retry_failed", "index": 0, "_selected_action": [message.pk]})
    message.refresh_from_db()
    assert message.status == "failed"


def test_batch_page_shows_why_sending_is_paused(client, operator, kaleyra):
    from django.utils import timezone

    from messaging.models import SendingPause

    message = SentMessageFactory()
    SendingPause.objects.create(
        account=f"{kaleyra.KALEYRA_SID}:{kaleyra.KALEYRA_WHATSAPP_NUMBER}",
        code="E110",
        message="Please check your balance, You have a low balance!",
        since=timezone.now(),
        until=timezone.now() + timezone.timedelta(minutes=5),
    )
    page = client.get(reverse("admin:messaging_sendbatch_change", args=[message.batch.pk]))
    assert "Please check your balance" in page.content.decode()
    progress = client.get(reverse("admin:messaging_sendbatch_progress", args=[message.batch.pk]))
    assert progress.json()["pause"]["code"] == "E110"


def test_batch_progress_needs_view_permission(client):
    client.force_login(staff("view_order"))
    message = SentMessageFactory()
    response = client.get(reverse("admin:messaging_sendbatch_progress", args=[message.batch.pk]))
    assert response.status_code == 403


def test_big_order_selection_is_prepared_by_a_worker(
    client, operator, kaleyra, monkeypatch, django_capture_on_commit_callbacks
):
    from messaging import admin_actions, tasks

    monkeypatch.setattr(admin_actions, "ORDERS_IN_REQUEST", 2)
    monkeypatch.setattr(admin_actions, "PREVIEW_ORDERS", 1)
    orders = [pending_order() for _ in range(3)]
    shipped = pending_order(status="shipped")
    base = {
        "action": "send_order_details",
        "index": 0,
        "_selected_action": [o.pk for o in [*orders, shipped]],
        "template_name": "ord_det_temp1",
        "language": "en_US",
        "wa_source": "api",
    }
    preview = client.post(ORDERS, {**base, "_preview": "1"})
    assert preview.context["queued_count"] == 1 and preview.context["note"]
    with (
        mock.patch.object(tasks.orders_batch_prepare, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        response = client.post(ORDERS, {**base, "_send": "1"})
    batch = SendBatch.objects.get()
    assert response.status_code == 302 and len(callbacks) == 1
    assert (batch.requested, batch.prepared_at, batch.messages.count()) == (4, None, 0)
    assert client.get(reverse("admin:messaging_sendbatch_progress", args=[batch.pk])).json()[
        "preparing"
    ]
    (args,) = [call.args for call in delay.call_args_list]
    with django_capture_on_commit_callbacks() as callbacks:
        tasks.orders_batch_prepare(*args)
        tasks.orders_batch_prepare(*args)  # delivered twice: prepared once
    batch.refresh_from_db()
    assert batch.messages.count() == 3 and len(callbacks) == 1
    assert [r["target"] for r in batch.refused] == [shipped.reference_id]
    assert batch.messages.first().payload["messaging_object"]["template"]["name"] == "ord_det_temp1"


def test_possible_duplicates_are_shown_filtered_and_found_by_the_first_attempts_id(
    client, operator
):
    flagged = SentMessageFactory(
        status="delivered",
        provider_message_id="SECOND",
        possible_duplicate=True,
        first_provider_message_id="FIRST",
    )
    SentMessageFactory(status="delivered", provider_message_id="ONLY")
    listing = client.get(MESSAGES, {"possible_duplicate__exact": "1"})
    assert list(listing.context["cl"].result_list) == [flagged]
    assert "Possible duplicate" in listing.content.decode()
    assert list(client.get(MESSAGES, {"q": "FIRST"}).context["cl"].result_list) == [flagged]
    page = client.get(reverse("admin:messaging_sentmessage_change", args=[flagged.pk]))
    content = page.content.decode()
    assert "Possible duplicate" in content and "FIRST" in content
