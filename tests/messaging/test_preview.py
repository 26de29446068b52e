"""The bubble as the customer sees it, drawn from the exact JSON sent (the reference samples)."""

import copy

import pytest

from messaging.models import MessageTemplate
from messaging.preview import bubble_build, bubble_render
from tests.orders.test_serializer import REFERENCE_ORDER_DETAILS

from .test_payloads import COUPON_SAMPLE, ORDER_STATUS_SAMPLE, order_details_sample

DEMO_BODY = "Hi {{1}}, your order {{2}} for {{3}} is ready. Tap below to pay."


def template(**fields):
    """A registered template (unsaved: the preview only reads it)."""
    defaults = {
        "name": "order_details_demo",
        "language": "en",
        "kind": "order_details",
        "body_text": DEMO_BODY,
        "footer_text": "Lucky Shrub",
    }
    return MessageTemplate(**{**defaults, **fields})


def body(*values):
    return {"type": "body", "parameters": [{"type": "text", "text": v} for v in values]}


def with_components(payload, *components, header=None):
    """`payload` with `components` before its buttons (WhatsApp's order) and its header
    parameter replaced by `header` (False: no header)."""
    payload = copy.deepcopy(payload)
    existing = payload["messaging_object"]["template"]["components"]
    heads = [c for c in existing if c["type"] == "header"]
    rest = [c for c in existing if c["type"] != "header"]
    if header is False:
        heads = []
    elif header is not None:
        heads = [{"type": "header", "parameters": [header]}]
    payload["messaging_object"]["template"]["components"] = [*heads, *components, *rest]
    return payload


def order_details(*values, header=None):
    return with_components(
        order_details_sample(REFERENCE_ORDER_DETAILS), body(*values), header=header
    )


DEMO_VALUES = ("Nidhi Tripathi", "abc.123_xyz-1", "₹1,650.00")


def test_order_details_bubble_fills_the_body_and_shows_items_and_total():
    bubble = bubble_build(payload=order_details(*DEMO_VALUES), template=template())
    assert bubble.body_text == (
        "Hi Nidhi Tripathi, your order abc.123_xyz-1 for ₹1,650.00 is ready. Tap below to pay."
    )
    assert bubble.button == "Review and pay"
    assert bubble.footer == "Lucky Shrub"
    assert [(i.label, i.quantity, i.amount) for i in bubble.items] == [
        ("Blue Elf Aloe", 1, "₹1,500.00")
    ]
    assert [(line.label, line.amount) for line in bubble.summary] == [
        ("Subtotal", "₹1,500.00"),
        ("Shipping", "₹200.00"),
        ("Tax", "₹100.00"),
        ("Discount", "−₹150.00"),
    ]
    assert bubble.total == "₹1,650.00"
    assert bubble.problems == ()
    html = bubble_render(bubble=bubble)
    assert 'Hi <span class="wa-value">Nidhi Tripathi</span>, your order' in html
    assert "₹1,650.00" in html and "Review and pay" in html and "Blue Elf Aloe" in html
    assert "Lucky Shrub" in html


def test_values_and_template_text_are_escaped():
    hostile = "<script>alert(1)</script>"
    bubble = bubble_build(
        payload=order_details(hostile, "R&D", "₹1"),
        template=template(body_text="<b>Hi</b> {{1}} {{2}} {{3}}", footer_text="<i>f</i>"),
    )
    html = bubble_render(bubble=bubble)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "R&amp;D" in html
    assert "<b>Hi</b>" not in html and "&lt;b&gt;Hi&lt;/b&gt;" in html
    assert "<i>f</i>" not in html


@pytest.mark.parametrize(
    ("parameter", "shown", "absent"),
    [
        (
            {"type": "image", "image": {"link": "https://cdn.example/p.jpg"}},
            '<img src="https://cdn.example/p.jpg" alt="Header image">',
            "",
        ),
        (
            {"type": "image", "image": {"id": "1234567890"}},
            "Image",
            "<img",
        ),
        (
            {"type": "video", "video": {"link": "https://cdn.example/v.mp4"}},
            "Video",
            "<img",
        ),
        (
            {
                "type": "document",
                "document": {"link": "https://cdn.example/i.pdf", "filename": "invoice.pdf"},
            },
            "invoice.pdf",
            "<img",
        ),
        ({"type": "text", "text": "Your order <3"}, "<strong>Your order &lt;3</strong>", "<img"),
    ],
)
def test_each_header_format(parameter, shown, absent):
    bubble = bubble_build(payload=order_details(*DEMO_VALUES, header=parameter), template=None)
    assert bubble.header.format == parameter["type"]
    html = bubble_render(bubble=bubble)
    assert shown in html
    if absent:
        assert absent not in html.split('class="wa-header')[1].split("wa-body")[0]


def test_media_id_header_names_the_id_and_http_link_is_not_loaded():
    by_id = bubble_build(
        payload=order_details(*DEMO_VALUES, header={"type": "image", "image": {"id": "98765"}}),
        template=None,
    )
    assert "media id 98765" in bubble_render(bubble=by_id)
    # The reference sample's own link is http: named, never loaded into the operator's page.
    sample = bubble_build(payload=order_details(*DEMO_VALUES), template=None)
    assert sample.header.link == "http://shop_order_image.jpg"
    html = bubble_render(bubble=sample)
    assert "<img" not in html and "http://shop_order_image.jpg" in html


def test_header_text_and_media_from_the_template_when_the_payload_has_none():
    text = bubble_build(
        payload=order_details(*DEMO_VALUES, header=False),
        template=template(header_format="text", header_text="Lucky Shrub order"),
    )
    assert text.header.format == "text" and text.header.text == "Lucky Shrub order"
    image = bubble_build(
        payload=order_details(*DEMO_VALUES, header=False),
        template=template(header_format="image", header_media_link="https://cdn.example/a.png"),
    )
    assert '<img src="https://cdn.example/a.png"' in bubble_render(bubble=image)
    none = bubble_build(payload=order_details(*DEMO_VALUES, header=False), template=template())
    assert none.header is None
    assert 'class="wa-header' not in bubble_render(bubble=none)


def test_unregistered_template_falls_back_to_its_name_and_values():
    bubble = bubble_build(payload=order_details("Nidhi Tripathi"), template=None)
    assert not bubble.registered
    html = bubble_render(bubble=bubble)
    assert "Template “ord_det_temp1” (en_US) is not in the registry" in html
    assert "<li>Nidhi Tripathi</li>" in html
    assert "Review and pay" in html and "₹1,650.00" in html


def test_a_placeholder_without_a_value_is_marked_and_named():
    bubble = bubble_build(payload=order_details("Nidhi Tripathi"), template=template())
    assert bubble.problems == (
        "The body's {{2}} has no value in the message.",
        "The body's {{3}} has no value in the message.",
    )
    html = bubble_render(bubble=bubble)
    assert '<mark class="wa-missing">{{2}}</mark>' in html
    assert "The body&#x27;s {{3}} has no value in the message." in html


def test_a_placeholder_that_is_not_a_number_is_marked_not_a_crash():
    bubble = bubble_build(payload=order_details("Nidhi"), template=template(body_text="{{name}}"))
    assert bubble.body[0].missing
    assert bubble.problems[0] == "The body's {{name}} has no value in the message."


def test_more_values_than_placeholders_is_named():
    bubble = bubble_build(
        payload=order_details(*DEMO_VALUES, "extra"), template=template(body_text="Hi {{1}}")
    )
    assert bubble.problems == (
        "The message carries 4 body values; the template has 1 placeholder(s): "
        "WhatsApp refuses the message.",
    )


def test_coupon_code_bubble_has_the_copy_code_button():
    payload = with_components(COUPON_SAMPLE, body("15%"))
    bubble = bubble_build(
        payload=payload, template=template(body_text="Take {{1}} off with this code.")
    )
    assert bubble.kind == "coupon_code"
    assert bubble.body_text == "Take 15% off with this code."
    assert (bubble.button, bubble.coupon_code) == ("Copy code", "2532334")
    assert bubble.items == () and bubble.total == ""
    html = bubble_render(bubble=bubble)
    assert "Copy code" in html and "2532334" in html


def test_order_status_bubble_has_no_button():
    bubble = bubble_build(payload=ORDER_STATUS_SAMPLE, template=None)
    assert bubble.kind == "order_status"
    assert bubble.button == ""
    assert (bubble.status, bubble.description) == ("shipped", "This order has been shipped.")
    html = bubble_render(bubble=bubble)
    assert 'class="wa-button"' not in html
    assert "This order has been shipped." in html
