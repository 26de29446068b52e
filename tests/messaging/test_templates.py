"""The template registry: validation (each error names its field, nothing stored), the header and
body components of each header format against the reference skeleton, and the demo templates."""

import copy
from datetime import UTC, timedelta
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from messaging.errors import MessagingError
from messaging.models import MessageTemplate, SentMessage, TemplateParameter
from messaging.services import coupon_code_send, order_details_send, order_status_send
from messaging.services.templates import template_components_build, template_find
from orders.models import OrderReference
from tests.factories import CouponFactory, OrderFactory, OrderItemFactory
from tests.orders.test_serializer import REFERENCE_ORDER_DETAILS

from .test_payloads import COUPON_SAMPLE, ORDER_STATUS_SAMPLE, order_details_sample

pytestmark = pytest.mark.django_db

ADD = reverse("admin:messaging_messagetemplate_add")
BODY = "Hi {{1}}, your order {{2}} for {{3}} is ready. Tap below to pay."
# The body component as WhatsApp wants it: one text parameter per placeholder, in order.
DEMO_BODY = {
    "type": "body",
    "parameters": [
        {"type": "text", "text": "Nidhi Tripathi"},
        {"type": "text", "text": "abc.123_xyz-1"},
        {"type": "text", "text": "₹1,650.00"},
    ],
}
SAMPLE_OPTIONS = {"ref": "customer1", "ref1": "marketing", "ref2": "dictionary"}


def register(*, sources=("customer_name", "order_reference", "order_total"), **fields):
    fields = {"name": "ord_det_temp1", "kind": "order_details", "body_text": BODY, **fields}
    template = MessageTemplate.objects.create(**fields)
    for position, source in enumerate(sources, start=1):
        fixed = source.removeprefix("fixed:") if source.startswith("fixed:") else ""
        TemplateParameter.objects.create(
            template=template,
            position=position,
            source="fixed" if fixed else source,
            fixed_text=fixed,
        )
    return template_find(name=template.name, language=template.language)


# Payloads: the reference skeleton's header, then the body, then the kind's own component.


def test_demo_template_payload_is_header_body_button(demo, kaleyra):
    call_command("load_demo", stdout=StringIO())  # a second run registers nothing twice
    assert MessageTemplate.objects.count() == 2
    result = order_details_send(orders=[demo], template_name="order_details_demo", **SAMPLE_OPTIONS)
    message = SentMessage.objects.get()
    details = copy.deepcopy(REFERENCE_ORDER_DETAILS)
    details["order"]["expiration"] = {"timestamp": str(int(demo.expires_at.timestamp()))}
    expected = order_details_sample(details)
    expected["messaging_object"]["template"]["name"] = "order_details_demo"
    components = expected["messaging_object"]["template"]["components"]
    components[0]["parameters"][0]["image"]["link"] = (
        "https://shop.example/images/order-details.jpg"
    )
    components.insert(1, DEMO_BODY)
    assert message.payload == result.preview == expected


def test_operators_header_image_replaces_the_default_link(demo, kaleyra):
    call_command("load_demo", stdout=StringIO())
    result = order_details_send(
        orders=[demo], template_name="order_details_demo", header_image_url="https://x.in/a.jpg"
    )
    components = result.preview["messaging_object"]["template"]["components"]
    assert components[0] == {
        "type": "header",
        "parameters": [{"type": "image", "image": {"link": "https://x.in/a.jpg"}}],
    }
    assert [component["type"] for component in components] == ["header", "body", "button"]


@pytest.mark.parametrize(
    ("fields", "header"),
    [
        ({"header_format": "none"}, None),
        ({"header_format": "text", "header_text": "Your order"}, None),  # fixed: no parameter
        (
            {"header_format": "image", "header_media_link": "https://shop.example/o.jpg"},
            {"type": "image", "image": {"link": "https://shop.example/o.jpg"}},
        ),
        (
            {"header_format": "image", "header_media_id": "1234567890"},
            {"type": "image", "image": {"id": "1234567890"}},
        ),
        (
            {"header_format": "video", "header_media_link": "https://shop.example/o.mp4"},
            {"type": "video", "video": {"link": "https://shop.example/o.mp4"}},
        ),
        (
            {
                "header_format": "document",
                "header_media_link": "https://shop.example/invoice.pdf",
                "header_filename": "Invoice abc.123.pdf",
            },
            {
                "type": "document",
                "document": {
                    "link": "https://shop.example/invoice.pdf",
                    "filename": "Invoice abc.123.pdf",
                },
            },
        ),
    ],
)
def test_each_header_format(demo, fields, header):
    template = register(**fields)
    expected = [DEMO_BODY] if header is None else [{"type": "header", "parameters": [header]}]
    if header is not None:
        expected.append(DEMO_BODY)
    assert template_components_build(template=template, order=demo) == expected


def test_order_status_template_puts_body_before_the_status(kaleyra):
    order = OrderFactory(reference_id="395XXXXX", customer_name="Asha", status="shipped")
    OrderItemFactory(order=order, name="Brass lamp", quantity=2)
    OrderItemFactory(order=order, name="Cotton rug", quantity=1)
    register(
        name="order_confirmation",
        kind="order_status",
        body_text="{{1}}: {{2}} items, first {{3}}. {{4}}",
        sources=("customer_name", "item_count", "first_item_name", "fixed:Thank you!"),
    )
    result = order_status_send(
        orders=[order],
        status="completed",
        template_name="order_confirmation",
        **SAMPLE_OPTIONS,
    )
    components = result.preview["messaging_object"]["template"]["components"]
    assert components[0] == {
        "type": "body",
        "parameters": [
            {"type": "text", "text": "Asha"},
            {"type": "text", "text": "3"},
            {"type": "text", "text": "Brass lamp"},
            {"type": "text", "text": "Thank you!"},
        ],
    }
    status_component = ORDER_STATUS_SAMPLE["messaging_object"]["template"]["components"][0]
    assert components[1]["type"] == status_component["type"] == "order_status"
    assert len(components) == 2


def test_coupon_template_payload_is_body_then_copy_code(kaleyra):
    coupon = CouponFactory(
        code="2532334", discount_type="percentage", percent_off=10, amount_off=None
    )
    register(
        name="cc_img_statics20",
        kind="coupon_code",
        body_text="Use {{1}} to save {{2}}.",
        sources=("coupon_code", "coupon_discount"),
    )
    result = coupon_code_send(
        coupon=coupon,
        recipients=["+919000090001"],
        template_name="cc_img_statics20",
        **SAMPLE_OPTIONS,
    )
    expected = copy.deepcopy(COUPON_SAMPLE)
    expected["messaging_object"]["to"] = "+919000090001"
    expected["messaging_object"]["template"]["components"].insert(
        0,
        {
            "type": "body",
            "parameters": [{"type": "text", "text": "2532334"}, {"type": "text", "text": "10%"}],
        },
    )
    assert result.preview == expected
    assert SentMessage.objects.get().coupon == coupon


def test_demo_coupon_template_shows_a_fixed_discount_in_rupees(demo, kaleyra):
    coupon = CouponFactory(code="TRY20", amount_off=2000)
    result = coupon_code_send(
        coupon=coupon, recipients=["+919000090001"], template_name="coupon_code_demo"
    )
    body = result.preview["messaging_object"]["template"]["components"][0]
    assert body == {"type": "body", "parameters": [{"type": "text", "text": "₹20.00"}]}


def test_unregistered_template_sends_no_body(demo, kaleyra):
    result = order_details_send(orders=[demo], template_name="ord_det_temp1")
    types = [c["type"] for c in result.preview["messaging_object"]["template"]["components"]]
    assert types == ["button"]


def test_same_name_in_another_language_is_not_used(demo, kaleyra):
    register(language="hi")
    result = order_details_send(orders=[demo], template_name="ord_det_temp1", language="en_US")
    types = [c["type"] for c in result.preview["messaging_object"]["template"]["components"]]
    assert types == ["button"]


def test_send_order_details_command_uses_the_demo_template(demo, kaleyra):
    out = StringIO()
    call_command(
        "send_order_details", demo.reference_id, "--template", "order_details_demo", stdout=out
    )
    message = SentMessage.objects.get()
    assert message.template_name == "order_details_demo"
    body = message.payload["messaging_object"]["template"]["components"][1]
    assert body == DEMO_BODY


# Values WhatsApp would refuse refuse that target, naming the placeholder and the field.


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("Nidhi\tTripathi", "contains a newline, a tab or more than four spaces in a row"),
        ("Nidhi     Tripathi", "contains a newline, a tab or more than four spaces in a row"),
        ("Nidhi\nTripathi", "contains a newline, a tab or more than four spaces in a row"),
        ("   ", "is empty"),
    ],
)
def test_a_value_whatsapp_refuses_refuses_the_target_and_stores_nothing(kaleyra, name, problem):
    bad = OrderFactory(customer_name=name)
    OrderItemFactory(order=bad)
    good = OrderFactory()
    OrderItemFactory(order=good)
    register()
    result = order_details_send(orders=[bad, good], template_name="ord_det_temp1")
    [refusal] = result.refused
    assert (refusal.target, refusal.code) == (bad.reference_id, "template_value_invalid")
    assert refusal.reason.startswith(
        "Template ord_det_temp1: placeholder {{1}} (Customer name) " + problem
    )
    assert SentMessage.objects.get().order == good
    assert not OrderReference.objects.filter(order=bad).exists()
    assert not bad.events.exists()


def test_a_missing_order_expiry_is_refused_naming_the_field(kaleyra):
    order = OrderFactory(expires_at=None)
    OrderItemFactory(order=order)
    register(body_text="Pay before {{1}}.", sources=("order_expiry",))
    result = order_details_send(orders=[order], template_name="ord_det_temp1")
    assert result.refused[0].reason == (
        "Template ord_det_temp1: placeholder {{1}} (Order expiry date and time) is empty."
    )
    assert not SentMessage.objects.exists()


def test_order_expiry_is_shown_in_the_shop_time_zone(settings):
    settings.TIME_ZONE = "Asia/Kolkata"
    order = OrderFactory(expires_at=timezone.datetime(2026, 11, 30, 14, 45, tzinfo=UTC))
    template = register(body_text="Pay before {{1}}.", sources=("order_expiry",))
    body = template_components_build(template=template, order=order)[0]
    assert body["parameters"] == [{"type": "text", "text": "30 Nov 2026, 08:15 PM"}]


def test_a_value_that_overflows_the_body_is_refused(kaleyra):
    order = OrderFactory()
    OrderItemFactory(order=order, name="x" * 60)
    register(body_text="a" * 1000 + " {{1}}", sources=("first_item_name",))
    result = order_details_send(orders=[order], template_name="ord_det_temp1")
    assert result.refused[0].reason == (
        "Template ord_det_temp1: placeholder {{1}} (First item's name) is 60 characters long: "
        "the filled body would be 1061, WhatsApp allows 1024."
    )
    assert not SentMessage.objects.exists()


def test_a_template_of_another_kind_refuses_the_batch(demo, kaleyra):
    register(kind="coupon_code", body_text="Hi", sources=())
    with pytest.raises(MessagingError) as caught:
        order_details_send(orders=[demo], template_name="ord_det_temp1")
    assert caught.value.code == "template_kind_mismatch"
    assert str(caught.value.message) == (
        "Template ord_det_temp1 (en_US) is registered for coupon code messages, "
        "not order details (checkout)."
    )
    assert not SentMessage.objects.exists() and not demo.references.exists()


def test_a_template_missing_a_parameter_refuses_the_batch(demo, kaleyra):
    register(sources=("customer_name", "order_reference"))
    with pytest.raises(MessagingError) as caught:
        order_details_send(orders=[demo], template_name="ord_det_temp1")
    assert (caught.value.code, caught.value.message) == (
        "template_invalid",
        "Template ord_det_temp1 (en_US): Placeholder {{3}} has no parameter.",
    )
    assert not SentMessage.objects.exists()


# Validation in the admin: each error names its field, nothing is stored.


def form(**overrides):
    data = {
        "name": "ord_det_temp1",
        "language": "en_US",
        "kind": "order_details",
        "header_format": "none",
        "header_text": "",
        "header_media_link": "",
        "header_media_id": "",
        "header_filename": "",
        "body_text": "Hi {{1}}, your order is ready.",
        "footer_text": "",
        "parameters-TOTAL_FORMS": "1",
        "parameters-INITIAL_FORMS": "0",
        "parameters-MIN_NUM_FORMS": "0",
        "parameters-MAX_NUM_FORMS": "1000",
        "parameters-0-position": "1",
        "parameters-0-source": "customer_name",
        "parameters-0-fixed_text": "",
    }
    data.update(overrides)
    return data


def test_admin_registers_a_valid_template(admin_client):
    response = admin_client.post(ADD, form())
    assert response.status_code == 302
    template = MessageTemplate.objects.get()
    assert [(p.position, p.source) for p in template.parameters.all()] == [(1, "customer_name")]


@pytest.mark.parametrize(
    ("overrides", "field", "error"),
    [
        (
            {"body_text": "Hi {{1}} and {{3}}"},
            "body_text",
            "Placeholders must be numbered 1 to 2 without gaps; {{2}} is missing.",
        ),
        (
            {"body_text": "Hi {{name}}"},
            "body_text",
            "Placeholder {{name}} is not a number from 1 up.",
        ),
        (
            {"body_text": "Hi {{1}} " + "x" * 1020},
            "body_text",
            "The body is 1029 characters long; WhatsApp allows at most 1024.",
        ),
        (
            {"header_format": "image"},
            "header_media_link",
            "An image header needs a media link or id.",
        ),
        (
            {"header_format": "video", "header_media_link": "http://shop.example/a.mp4"},
            "header_media_link",
            "The header media link must start with https://.",
        ),
        ({"header_format": "text"}, "header_text", "A text header needs its text."),
        (
            {"header_format": "text", "header_text": "Order {{1}}"},
            "header_text",
            "The header text cannot hold a placeholder.",
        ),
        (
            {"header_media_link": "https://shop.example/a.jpg"},
            "header_media_link",
            "Media is only for an image, video or document header.",
        ),
        (
            {"header_format": "image", "header_media_id": "1", "header_filename": "a.pdf"},
            "header_filename",
            "A file name is only for a document header.",
        ),
    ],
)
def test_admin_template_errors_name_the_field(admin_client, overrides, field, error):
    response = admin_client.post(ADD, form(**overrides))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [error]
    assert not MessageTemplate.objects.exists() and not TemplateParameter.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field", "error"),
    [
        (
            {"parameters-0-source": "fixed", "parameters-0-fixed_text": "a\tb"},
            "fixed_text",
            "The fixed text contains a newline, a tab or more than four spaces in a row.",
        ),
        (
            {"parameters-0-source": "fixed", "parameters-0-fixed_text": "a     b"},
            "fixed_text",
            "The fixed text contains a newline, a tab or more than four spaces in a row.",
        ),
        (
            {"parameters-0-source": "fixed", "parameters-0-fixed_text": ""},
            "fixed_text",
            "The fixed text is empty.",
        ),
        (
            {"parameters-0-fixed_text": "Nidhi"},
            "fixed_text",
            "Fixed text is only for the source 'Fixed text'.",
        ),
        (
            {"parameters-0-source": "coupon_code"},
            "source",
            "'Coupon code' has no value in a order details (checkout) message.",
        ),
    ],
)
def test_admin_parameter_errors_name_the_field(admin_client, overrides, field, error):
    response = admin_client.post(ADD, form(**overrides))
    assert response.status_code == 200
    [formset] = response.context["inline_admin_formsets"]
    assert formset.formset.forms[0].errors[field] == [error]
    assert not MessageTemplate.objects.exists() and not TemplateParameter.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"parameters-TOTAL_FORMS": "0"}, "Placeholder {{1}} has no parameter."),
        (
            {"parameters-0-position": "2"},
            "Parameter 2 has no placeholder {{2}} in the body (it has 1).",
        ),
        (
            {
                "parameters-TOTAL_FORMS": "2",
                "parameters-1-position": "1",
                "parameters-1-source": "order_total",
                "parameters-1-fixed_text": "",
            },
            "Please correct the duplicate data for position.",  # Django's own unique check
        ),
    ],
)
def test_admin_each_placeholder_needs_exactly_one_parameter(admin_client, overrides, error):
    response = admin_client.post(ADD, form(**overrides))
    assert response.status_code == 200
    [formset] = response.context["inline_admin_formsets"]
    assert formset.formset.non_form_errors() == [error]
    assert not MessageTemplate.objects.exists() and not TemplateParameter.objects.exists()


def test_name_and_language_are_unique(admin_client):
    register()
    response = admin_client.post(ADD, form())
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == [
        "Message template with this Name and Language already exists."
    ]
    assert MessageTemplate.objects.count() == 1


def test_model_clean_names_the_field_outside_the_admin():
    template = MessageTemplate(name="t", kind="order_details", body_text="Hi {{2}}")
    with pytest.raises(ValidationError) as caught:
        template.full_clean()
    assert caught.value.message_dict == {
        "body_text": ["Placeholders must be numbered 1 to 1 without gaps; {{1}} is missing."]
    }


def test_expired_order_is_refused_before_its_values(kaleyra):
    order = OrderFactory(expires_at=timezone.now() + timedelta(seconds=60), customer_name="a\tb")
    OrderItemFactory(order=order)
    register()
    result = order_details_send(orders=[order], template_name="ord_det_temp1")
    assert result.refused[0].code == "order_expiring"


def test_admin_edit_keeps_the_parameters_when_the_body_is_refused(admin_client):
    template = register()
    change = reverse("admin:messaging_messagetemplate_change", args=[template.pk])
    assert admin_client.get(change).status_code == 200
    data = form(body_text=BODY + " {{4}}", **{"parameters-TOTAL_FORMS": "3"})
    data["parameters-INITIAL_FORMS"] = "3"
    for index, parameter in enumerate(template.parameters.all()):
        data[f"parameters-{index}-id"] = str(parameter.pk)
        data[f"parameters-{index}-template"] = str(template.pk)
        data[f"parameters-{index}-position"] = str(parameter.position)
        data[f"parameters-{index}-source"] = parameter.source
        data[f"parameters-{index}-fixed_text"] = ""
    response = admin_client.post(change, data)
    assert response.status_code == 200
    [formset] = response.context["inline_admin_formsets"]
    assert formset.formset.non_form_errors() == ["Placeholder {{4}} has no parameter."]
    template.refresh_from_db()
    assert template.body_text == BODY and template.parameters.count() == 3


def test_a_registered_template_without_header_gets_no_header_image(kaleyra):
    order = OrderFactory(header_image_url="https://shop.example/o.jpg")
    OrderItemFactory(order=order)
    register(body_text="Your order is ready.", sources=())
    result = order_details_send(orders=[order], template_name="ord_det_temp1")
    types = [c["type"] for c in result.preview["messaging_object"]["template"]["components"]]
    assert types == ["button"]  # WhatsApp refuses a header the approved template does not have
