"""An operator's whole day in Chromium, against a live server, a real Celery worker and the
Kaleyra sandbox (which posts its delivery callbacks back to the live server).

Screenshots of every step go to var/screenshots/ for a person to look at.
"""

import csv
import io
import json
import re
from pathlib import Path

import pytest
import requests
from django.core.management import call_command
from playwright.sync_api import expect

from common.api.keys import api_key_create
from config.demo import demo_load
from coupons.models import Coupon, CouponPool
from coupons.services import pool_codes_generate
from messaging.models import SendBatch, SentMessage
from messaging.sandbox import KaleyraSandbox, SandboxConfig
from orders.api_schema import SAMPLE_BODY
from orders.models import Order
from tests.checkout.conftest import FIXTURES, checkout_key, private_key  # noqa: F401 - fixtures
from tests.stack import Worker, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

SID, API_KEY, NUMBER = "E2ESID", "e2e-api-key", "+910000000000"
CALLBACK_AUTH = "kaleyra:e2e-callback-password"
PUBLIC_KEY = FIXTURES / "vector_public_key.pem"
REACHED = ("accepted", "sent", "delivered", "read")


@pytest.fixture
def stack(live_server, settings, checkout_key):  # noqa: F811 - the imported fixture
    """The sandbox (calling back the live server) and a real worker sending to it."""
    settings.KALEYRA_CALLBACK_BASIC_AUTH = CALLBACK_AUTH
    sandbox = KaleyraSandbox(
        SandboxConfig(
            sid=SID,
            api_key=API_KEY,
            number=NUMBER,
            latency_ms=20,
            callback_url=f"{live_server.url}/kaleyra/callbacks/",
            callback_auth=CALLBACK_AUTH,
            callback_delay_ms=200,
        )
    ).start(port=0)
    kaleyra = {
        "KALEYRA_API_BASE_URL": sandbox.base_url,
        "KALEYRA_SID": SID,
        "KALEYRA_API_KEY": API_KEY,
        "KALEYRA_WHATSAPP_NUMBER": NUMBER,
    }
    for name, value in kaleyra.items():
        setattr(settings, name, value)
    worker = Worker(concurrency=4, KALEYRA_SENDS_PER_SECOND=0, **kaleyra).start()
    demo_load()  # the coupons and shipping rules the customer will use
    yield sandbox
    worker.stop()
    sandbox.stop()


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_superuser("operator", "op@example.com", "op-pass-1")


def login(page, url):
    page.goto(f"{url}/admin/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", "op-pass-1")
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_be_visible()


def fill_item(page, index, *, name, price, quantity):
    prefix = f"#id_items-{index}-"
    page.fill(prefix + "name", name)
    page.fill(prefix + "quantity", str(quantity))
    page.fill(prefix + "amount", price)
    page.fill(prefix + "country_of_origin", "India")
    page.fill(prefix + "importer_name", "Lucky Shrub Imports and Exports")
    page.fill(prefix + "importer_address_line1", "One BKC")
    page.fill(prefix + "importer_city", "Mumbai")
    page.fill(prefix + "importer_zone_code", "MH")
    page.fill(prefix + "importer_postal_code", "400051")


def run_action(page, url, changelist, object_label, action):
    """Tick one row of an admin changelist and run an action on it."""
    page.goto(f"{url}/admin/{changelist}/")
    row = page.locator("#result_list tbody tr", has_text=object_label)
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", label=action)
    page.click("button[name=index]")
    expect(page.locator("#send-form")).to_be_visible()


def simulate(url, reference_id, *action):
    out = io.StringIO()
    call_command(
        "checkout_simulate",
        "--url",
        f"{url}/checkout/",
        "--public-key",
        str(PUBLIC_KEY),
        reference_id,
        *action,
        stdout=out,
    )
    text = out.getvalue()
    status = int(re.search(r"< HTTP (\d+)", text).group(1))
    answer = json.loads(text[text.index("\n", text.index("< HTTP")) :])
    return status, answer


def test_an_operators_day(page, live_server, stack, operator, shoot):
    url = live_server.url
    sandbox = stack

    # 1. Log in; create an order with two items; its totals show correctly.
    login(page, url)
    shoot("1-logged-in")
    page.goto(f"{url}/admin/orders/order/add/")
    page.fill("#id_reference_id", "shop-2001")
    page.fill("#id_customer_name", "Aarav Sharma")
    page.fill("#id_customer_phone", "98123 45601")
    page.fill("#id_payment_configuration", "prod-razor-pay-config-05")
    page.fill("#id_shipping", "200")
    page.fill("#id_tax", "100.50")
    page.fill("#id_discount", "0")
    fill_item(page, 0, name="Blue Elf Aloe", price="1,500.00", quantity=2)
    page.click("#items-group .add-row a")
    fill_item(page, 1, name="Terracotta pot", price="249.99", quantity=1)
    page.click("#addresses-group .add-row a")
    page.fill("#id_addresses-0-name", "Aarav Sharma")
    page.fill("#id_addresses-0-phone_number", "919812345601")
    page.fill("#id_addresses-0-address", "Bandra Kurla Complex")
    page.fill("#id_addresses-0-city", "Mumbai")
    page.fill("#id_addresses-0-state", "Maharashtra")
    page.fill("#id_addresses-0-in_pin_code", "400051")
    shoot("1-order-form")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist .success")).to_be_visible()
    expect(page.locator(".field-subtotal_display .readonly")).to_have_text("₹3,249.99")
    expect(page.locator(".field-total_display .readonly")).to_have_text("₹3,550.49")
    shoot("1-order-saved")
    order = Order.objects.get(reference_id="shop-2001")
    assert str(order.customer_phone) == "+919812345601"
    assert order.totals.total == 2 * 150000 + 24999 + 20000 + 10050

    # 1b. The send form shows the demo order's message as the customer will see it with the
    #     demo template load_demo registers: her name and the total in the body, the header
    #     image, the items, the footer and the button; the JSON behind a toggle. A preview
    #     sends nothing.
    run_action(page, url, "orders/order", "abc.123_xyz-1", "Send order details (checkout) message")
    page.fill("#id_template_name", "order_details_demo")
    page.click("input[name=_preview]")
    bubble = page.locator("#bubble-preview")
    expect(bubble.locator(".wa-body")).to_have_text(
        "Hi Nidhi Tripathi, your order abc.123_xyz-1 for ₹1,650.00 is ready. Tap below to pay."
    )
    expect(bubble.locator(".wa-header img")).to_have_attribute(
        "src", "https://shop.example/images/order-details.jpg"
    )
    expect(bubble.locator(".wa-order")).to_contain_text("Blue Elf Aloe")
    expect(bubble.locator(".wa-total")).to_contain_text("₹1,650.00")
    expect(bubble.locator(".wa-footer")).to_have_text("Lucky Shrub")
    expect(bubble.locator(".wa-button")).to_have_text("Review and pay")
    expect(page.locator("#preview")).to_be_hidden()
    page.click("#preview-json summary")
    expect(page.locator("#preview")).to_contain_text('"text": "Nidhi Tripathi"')
    assert shoot("1b-bubble-preview").stat().st_size > 0
    assert not SentMessage.objects.exists()

    # 2. Send its order-details (checkout) message; the batch reaches 100 %; the message is
    #    accepted, then delivered and read from the sandbox's callbacks.
    run_action(page, url, "orders/order", "shop-2001", "Send order details (checkout) message")
    page.fill("#id_template_name", "order_details")
    page.click("input[name=_preview]")
    expect(page.locator("#bubble-preview")).to_contain_text("Review and pay")
    expect(page.locator("#preview")).to_contain_text('"reference_id": "shop-2001"')
    shoot("2-preview")
    page.click("input[name=_send]")
    expect(page.locator("#batch-progress")).to_be_visible()
    expect(page.locator("#batch-percent")).to_have_text("100", timeout=60_000)
    shoot("2-batch-done")
    message = SentMessage.objects.get(order=order, kind="order_details")
    wait_until(
        lambda: SentMessage.objects.filter(pk=message.pk, status="read").exists(),
        timeout=60,
        message="the checkout message read",
    )
    message.refresh_from_db()
    assert message.accepted_at and message.delivered_at and message.read_at
    assert [m["message_id"] for m in sandbox.messages] == [message.provider_message_id]
    page.reload()
    expect(page.locator("#count-read")).to_have_text("1")
    expect(page.locator("#batch-pause")).to_be_hidden()
    shoot("2-batch-read")
    page.goto(f"{url}/admin/messaging/sentmessage/{message.pk}/change/")
    sent_bubble = page.locator(".field-customer_view #bubble-preview")
    expect(sent_bubble).to_contain_text("“order_details” (en_US) is not in the registry")
    expect(sent_bubble.locator(".wa-total")).to_contain_text("₹3,550.49")
    shoot("2-sent-message")

    # 3. The customer checks out in WhatsApp (the simulator plays WhatsApp): lists coupons,
    #    applies one, picks a shipping address; the order page shows it all with its history.
    status, answer = simulate(url, "shop-2001", "get_coupons")
    assert status == 200
    codes = [coupon["code"] for coupon in answer["data"]["coupons"]]
    assert "TRYNEW10" in codes
    status, answer = simulate(url, "shop-2001", "apply_coupon", "TRYNEW10")
    assert status == 200
    total_before_coupon = 2 * 150000 + 24999 + 20000 + 10050
    discount = (total_before_coupon + 5) // 10  # 10 %, half-up
    assert answer["data"]["order_details"]["coupon"]["discount"]["value"] == discount
    status, answer = simulate(url, "shop-2001", "apply_shipping", "400051")
    assert status == 200
    details = answer["data"]["order_details"]
    assert details["order"]["shipping"]["value"] == 40000  # the demo's rule for 400051
    total = total_before_coupon - 20000 + 40000 - discount
    assert details["total_amount"]["value"] == total
    page.goto(f"{url}/admin/orders/order/{order.pk}/change/")
    expect(page.locator(".field-coupon_display .readonly")).to_contain_text("TRYNEW10")
    expect(page.locator("#id_shipping")).to_have_value("400.00")
    expect(page.locator(".field-total_display .readonly")).to_have_text(f"₹{total / 100:,.2f}")
    history = page.locator("#events-group")
    for kind in ("Coupon", "Shipping cost", "Shipping address"):
        expect(history).to_contain_text(kind)
    expect(history).to_contain_text("WhatsApp checkout")
    shoot("3-order-after-checkout")

    # 3b. The customer pays through the sandbox (which posts Kaleyra's payment webhook): the
    #     order turns processing by itself, its payment panel shows the transaction, and the
    #     `processing` status message is queued to the customer and delivered.
    out = io.StringIO()
    call_command("checkout_simulate", "--sandbox", sandbox.base_url, "shop-2001", "pay", stdout=out)
    assert f'"value": {total}' in out.getvalue()
    assert "Order shop-2001: Processing, payment paid" in out.getvalue()
    page.goto(f"{url}/admin/orders/order/?payment_status=paid")
    paid_row = page.locator("#result_list tbody tr", has_text="shop-2001")
    expect(paid_row.locator(".field-order_payment_status_column")).to_have_text("Paid")
    expect(paid_row.locator(".field-status")).to_have_text("Processing")
    shoot("3b-order-list-paid")
    page.goto(f"{url}/admin/orders/order/{order.pk}/change/")
    expect(page.locator("#id_status")).to_have_value("processing")
    panel = page.locator("#payments-group")
    expect(panel).to_contain_text("razorpay")
    expect(panel).to_contain_text(f"₹{total / 100:,.2f}")
    expect(panel.locator(".field-status")).to_have_text("Success")
    expect(page.locator("#events-group")).to_contain_text("captured")
    shoot("3b-order-paid")
    paid_message = SentMessage.objects.get(order=order, kind="order_status")
    [component] = [
        c
        for c in paid_message.payload["messaging_object"]["template"]["components"]
        if c["type"] == "order_status"
    ]
    assert component["parameters"][0]["order_status"]["order"]["status"] == "processing"
    wait_until(
        lambda: SentMessage.objects.filter(pk=paid_message.pk, status="read").exists(),
        timeout=60,
        message="the processing status message read",
    )

    # 4. Send an order-status update "shipped": the order's status changes.
    run_action(page, url, "orders/order", "shop-2001", "Send order status update")
    page.fill("#id_template_name", "order_status")
    page.select_option("#id_status", "shipped")
    page.fill("#id_description", "Your plants are on their way.")
    page.click("input[name=_send]")
    expect(page.locator("#batch-percent")).to_have_text("100", timeout=60_000)
    shoot("4-status-batch")
    order.refresh_from_db()
    assert order.status == "shipped"
    page.goto(f"{url}/admin/orders/order/{order.pk}/change/")
    expect(page.locator("#id_status")).to_have_value("shipped")
    shoot("4-order-shipped")

    # 5. Send a coupon code from a pool to three customers: each gets a different code.
    festive = Coupon.objects.create(
        code="FESTIVE",
        public_id="festive",
        description="Festive 15% off",
        discount_type=Coupon.DiscountType.PERCENTAGE,
        percent_off=15,
    )
    pool_codes_generate(pool=CouponPool.objects.create(coupon=festive), count=20, prefix="FST")
    run_action(page, url, "coupons/coupon", "FESTIVE", "Send coupon code message")
    page.fill("#id_template_name", "coupon_code")
    page.fill("#id_ref2", "festive-campaign")
    page.fill("#id_recipients", "+919812345602\n9812345603\n+91 98123 45604\nnot-a-phone")
    page.click("input[name=_preview]")
    expect(page.locator("#refused")).to_contain_text("not-a-phone")
    shoot("5-coupon-preview")
    page.click("input[name=_send]")
    expect(page.locator("#batch-percent")).to_have_text("100", timeout=60_000)
    shoot("5-coupon-batch")
    sent = SentMessage.objects.filter(coupon=festive)
    codes = {
        m.payload["messaging_object"]["template"]["components"][0]["parameters"][0]["coupon_code"]
        for m in sent
    }
    assert sent.count() == 3 and len(codes) == 3
    assert all(code.startswith("FST") for code in codes)

    # 6. The delivery and ref reports: counts match what happened; charts drawn; CSV downloads.
    wait_until(
        lambda: SentMessage.objects.filter(status="read").count() == SentMessage.objects.count(),
        timeout=60,
        message="every message read",
    )
    total_messages = SentMessage.objects.count()
    assert total_messages == 6  # with the processing message the payment sent (3b)
    page.goto(f"{url}/admin/")
    page.click("text=Delivery report")
    expect(page.locator("svg").first).to_be_visible()
    footer = page.locator("#report-table-1 tfoot")
    expect(footer).to_contain_text(str(total_messages))
    shoot("6-delivery-report")
    with page.expect_download() as download:
        page.click("#csv-link")
    rows = list(csv.reader(Path(download.value.path()).read_text().splitlines()))
    assert rows[0][0] and any(str(total_messages) in row for row in rows)
    # the order paid in 3b: one paid order and its total, at the end of the total row
    assert rows[0][-2:] == ["Paid orders", "Revenue (₹)"]
    [totals] = [row for row in rows if row and row[0] == "Total"]
    assert totals[-2:] == ["1", f"₹{total / 100:,.2f}"]
    expect(footer).to_contain_text(f"₹{total / 100:,.2f}")

    page.goto(f"{url}/admin/reports/refs/?group_by=ref2")
    expect(page.locator("svg").first).to_be_visible()
    campaign = page.locator("#report-table-1 tbody tr", has_text="festive-campaign")
    expect(campaign).to_contain_text("3")
    shoot("6-ref-report")
    with page.expect_download() as download:
        page.click("#csv-link")
    text = Path(download.value.path()).read_text()
    assert "festive-campaign" in text
    assert SendBatch.objects.count() == 4  # with the payment's status message (3b)

    # 7. An order arrives from the shop's storefront through the REST API (the reference's
    #    sample with a new reference id); the operator finds it in the admin with its totals,
    #    sends its checkout message from there, and the API shows the message's status.
    _, key = api_key_create(name="storefront", scopes=["read", "write"])
    headers = {"Authorization": f"Api-Key {key}"}
    created = requests.post(f"{url}/api/v1/orders/", json=SAMPLE_BODY, headers=headers, timeout=10)
    assert created.status_code == 201
    assert created.json()["total_amount"] == {"value": 165000, "offset": 100}
    page.goto(f"{url}/admin/orders/order/?q=abc.123_xyz-2")
    expect(page.locator("#result_list")).to_contain_text("abc.123_xyz-2")
    shoot("7-api-order-in-admin")
    run_action(page, url, "orders/order", "abc.123_xyz-2", "Send order details (checkout) message")
    page.fill("#id_template_name", "order_details")
    page.click("input[name=_preview]")
    expect(page.locator("#preview")).to_contain_text('"reference_id": "abc.123_xyz-2"')
    page.click("input[name=_send]")
    expect(page.locator("#batch-percent")).to_have_text("100", timeout=60_000)
    shoot("7-api-order-sent")
    wait_until(
        lambda: SentMessage.objects.filter(
            order__reference_id="abc.123_xyz-2", status="read"
        ).exists(),
        timeout=60,
        message="the API order's checkout message read",
    )
    shown = requests.get(f"{url}/api/v1/orders/abc.123_xyz-2/", headers=headers, timeout=10)
    assert shown.json()["references"] == ["abc.123_xyz-2"]
    assert shown.json()["latest_message"]["status"] == "read"
