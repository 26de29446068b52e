"""The customer's view in the send forms and on each message's admin page."""

import pytest
from django.urls import reverse

from messaging.models import SendBatch, SentMessage, TemplateParameter
from tests.factories import CouponFactory, OrderFactory, OrderItemFactory, SentMessageFactory

from .test_preview import order_details, template
from .test_send_forms_bad_input import _coupon_data, _post

pytestmark = pytest.mark.django_db

ORDERS = "/admin/orders/order/"
COUPONS = "/admin/coupons/coupon/"


@pytest.fixture
def registered():
    """order_details_demo (en) in the registry: the demo body, customer name, order reference
    and total."""
    demo = template()
    demo.save()
    for position, source in enumerate(("customer_name", "order_reference", "order_total"), 1):
        TemplateParameter.objects.create(template=demo, position=position, source=source)
    return demo


def pending_order(**kwargs):
    order = OrderFactory(**kwargs)
    OrderItemFactory(order=order)
    return order


def preview_orders(client, *orders, template_name="order_details_demo"):
    return client.post(
        ORDERS,
        {
            "action": "send_order_details",
            "index": 0,
            "_selected_action": [order.pk for order in orders],
            "template_name": template_name,
            "language": "en",
            "_preview": "1",
        },
    )


def section(html, start, end):
    return html[html.index(start) : html.index(end, html.index(start))]


def test_send_form_shows_the_bubble_with_the_values_and_the_json_behind_a_toggle(
    client, operator, kaleyra, registered
):
    order = pending_order(customer_name="Nidhi Tripathi", reference_id="shop-7")
    response = preview_orders(client, order)
    html = response.content.decode()
    bubble = section(html, 'id="bubble-preview"', 'id="preview-json"')
    assert (
        '<div class="wa-body">Hi <span class="wa-value">Nidhi Tripathi</span>, your order '
        '<span class="wa-value">shop-7</span> for <span class="wa-value">₹1,800.00</span> is '
        "ready. Tap below to pay.</div>"
    ) in bubble
    assert "Blue Elf Aloe" in bubble and "₹1,500.00" in bubble
    assert '<tr class="wa-total"><th>Total</th><th class="wa-amount">₹1,800.00</th></tr>' in bubble
    assert '<div class="wa-footer">Lucky Shrub</div>' in bubble
    assert '<div class="wa-button">Review and pay</div>' in bubble
    json_part = section(html, '<details id="preview-json">', "</details>")
    assert "<summary>JSON for the first recipient</summary>" in json_part
    assert "&quot;type&quot;: &quot;body&quot;" in json_part
    assert not SentMessage.objects.exists() and not SendBatch.objects.exists()
    assert not order.references.exists()


def test_unregistered_template_previews_with_its_name(client, operator, kaleyra):
    order = pending_order(reference_id="shop-8")
    response = preview_orders(client, order, template_name="order_details")
    bubble = section(response.content.decode(), 'id="bubble-preview"', 'id="preview-json"')
    assert "Template “order_details” (en) is not in the registry" in bubble
    assert '<tr class="wa-total"><th>Total</th><th class="wa-amount">₹1,800.00</th></tr>' in bubble
    assert '<div class="wa-button">Review and pay</div>' in bubble
    assert not SentMessage.objects.exists() and not SendBatch.objects.exists()


def test_refusals_show_beside_the_bubble_before_anything_is_queued(
    client, operator, kaleyra, registered
):
    good = pending_order(customer_name="Nidhi Tripathi")
    tabbed = pending_order(customer_name="Nidhi\tTripathi")
    shipped = pending_order(status="shipped")
    response = preview_orders(client, good, tabbed, shipped)
    html = response.content.decode()
    preview = section(html, 'id="send-preview"', 'id="preview-json"')
    assert 'Hi <span class="wa-value">Nidhi Tripathi</span>' in preview
    refused = section(preview, 'id="refused"', "</table>")
    assert (
        f"<tr><td>{tabbed.reference_id}</td><td>Template order_details_demo: placeholder {{{{1}}}} "
        "(Customer name) contains a newline, a tab or more than four spaces in a row "
        "(&#x27;Nidhi\\tTripathi&#x27;).</td></tr>"
    ) in refused
    assert shipped.reference_id in refused and "only pending orders" in refused
    assert not SentMessage.objects.exists() and not SendBatch.objects.exists()
    assert not tabbed.references.exists()


def test_coupon_send_form_shows_the_copy_code_button(client, operator, kaleyra):
    coupon_template = template(
        name="coupon_code_demo",
        language="en_US",
        kind="coupon_code",
        body_text="Save {{1}} on your next order with this code.",
    )
    coupon_template.save()
    TemplateParameter.objects.create(template=coupon_template, position=1, source="coupon_discount")
    data = _coupon_data(
        CouponFactory(code="SAVE10"), _preview="1", template_name="coupon_code_demo"
    )
    del data["_send"]
    response = _post(client, COUPONS, data)  # nothing stored
    bubble = section(response.content.decode(), 'id="bubble-preview"', 'id="preview-json"')
    assert (
        '<div class="wa-body">Save <span class="wa-value">₹20.00</span> on your next order '
        "with this code.</div>"
    ) in bubble
    assert '<div class="wa-code">SAVE10</div>' in bubble
    assert '<div class="wa-button">Copy code</div>' in bubble


def test_sent_message_page_shows_the_customer_view_escaped(client, operator, registered):
    payload = order_details("<b>Nidhi</b>", "abc.123_xyz-1", "₹1,650.00")
    payload["messaging_object"]["template"].update(
        name="order_details_demo", language={"policy": "deterministic", "code": "en"}
    )
    message = SentMessageFactory(
        kind="order_details", payload=payload, template_name="order_details_demo", language="en"
    )
    page = client.get(reverse("admin:messaging_sentmessage_change", args=[message.pk]))
    html = page.content.decode()
    view = section(html, "field-customer_view", 'id="bubble-preview"')
    assert "As the customer sees it" in view
    bubble = section(html, 'id="bubble-preview"', "field-payload_json")
    assert 'Hi <span class="wa-value">&lt;b&gt;Nidhi&lt;/b&gt;</span>, your order' in bubble
    assert "<b>Nidhi</b>" not in bubble
    assert "₹1,650.00" in bubble and "Review and pay" in bubble
    json_part = section(html, '<details id="payload-json">', "</details>")
    assert "<summary>Show the JSON</summary>" in json_part
    assert "&lt;b&gt;Nidhi&lt;/b&gt;" in json_part
