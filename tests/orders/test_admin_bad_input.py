"""The order add and change pages (with their items and addresses) under wrong numbers,
over-long text and wrong phone numbers: a 200 with the error on the field, nothing stored."""

import pytest
from django.urls import reverse

from orders.models import Order
from tests.bad_input import admin_page_errors, changed_models, stored_rows

from .test_admin import _order_post_data

pytestmark = pytest.mark.django_db

HUGE_NUMBER = "9" * 30
HUGE_RUPEES = "9" * 25 + ".00"
# (field, value, words of the error). The inline fields are the first item's and address's.
BAD = [
    ("shipping", "abc", "not an amount"),
    ("shipping", "-1", ""),
    ("tax", "1.234", "two decimals"),
    ("discount", HUGE_RUPEES, ""),
    ("customer_phone", "+91 12", "phone number"),
    ("customer_phone", "1" * 40, "phone number"),
    ("customer_name", "n" * 257, "at most 256 characters"),
    ("customer_name", "", "This field is required."),
    ("tax_description", "t" * 61, "at most 60 characters"),
    ("header_image_url", "not a url", "Enter a valid URL."),
    ("expires_at_0", "tomorrow", "Enter a valid date."),
    ("reference_id", "r" * 36, "at most 35"),
    ("items-0-quantity", "abc", "Enter a whole number."),
    ("items-0-quantity", "-1", "greater than or equal to 0"),
    ("items-0-quantity", "1.5", "Enter a whole number."),
    ("items-0-quantity", HUGE_NUMBER, "less than or equal to"),
    ("items-0-amount", "abc", "not an amount"),
    ("items-0-amount", "-5", ""),
    ("items-0-amount", "1.001", "two decimals"),
    ("items-0-amount", HUGE_RUPEES, ""),
    ("items-0-sale_amount", "12,34,5.6.7", ""),
    ("items-0-name", "n" * 61, "at most 60 characters"),
    ("items-0-importer_postal_code", "40005A", ""),
    ("items-0-importer_zone_code", "XYZ", ""),
    ("items-0-importer_country_code", "India", ""),
    ("addresses-0-phone_number", "12345", ""),
    ("addresses-0-phone_number", "9" * 13, "at most 12 characters"),
    ("addresses-0-in_pin_code", "ABCDEF", ""),
    ("addresses-0-in_pin_code", "4000511", "at most 6 characters"),
    ("addresses-0-floor_number", "f" * 11, "at most 10 characters"),
    ("addresses-0-address", "", "This field is required."),
]


def _rounds(bad):
    """The bad values grouped into as few posts as can hold them: one value per field a post."""
    rounds = []
    for field, value, words in bad:
        free = next((round_ for round_ in rounds if field not in round_), None)
        if free is None:
            rounds.append(free := {})
        free[field] = (value, words)
    return rounds


def _check_refused(client, url, data, bad):
    data.update({field: value for field, (value, _) in bad.items()})
    before = stored_rows()
    response = client.post(url, data)
    assert response.status_code == 200
    errors = admin_page_errors(response)
    for field, (_, words) in bad.items():
        field_name = field.removesuffix("_0")
        assert field_name in errors, (field_name, errors)
        assert words in errors[field_name]
    assert changed_models(before, stored_rows()) == []


@pytest.mark.parametrize("bad", _rounds(BAD), ids=lambda bad: f"{len(bad)}-fields")
def test_change_page(staff_client, demo, bad):
    url = reverse("admin:orders_order_change", args=[demo.pk])
    data = _order_post_data(staff_client.get(url))
    data["items-0-quantity"] = "5"  # a valid change alongside: it must not be kept either
    _check_refused(staff_client, url, data, bad)


@pytest.fixture
def add_data(staff_client, demo):
    """The demo order's change form, turned into a new order's add form."""
    url = reverse("admin:orders_order_change", args=[demo.pk])
    data = _order_post_data(staff_client.get(url))
    for key in list(data):
        if key.endswith(("-id", "-order")):
            data[key] = ""
        if key.endswith("-INITIAL_FORMS"):
            data[key] = "0"
    data.update(reference_id="new-order-1", selected_address="")
    return data


def test_the_add_data_is_valid(staff_client, add_data):
    response = staff_client.post(reverse("admin:orders_order_add"), add_data)
    assert response.status_code == 302
    order = Order.objects.get(reference_id="new-order-1")
    assert (order.items.count(), order.addresses.count()) == (1, 1)


@pytest.mark.parametrize("bad", _rounds(BAD), ids=lambda bad: f"{len(bad)}-fields")
def test_add_page(staff_client, add_data, bad):
    _check_refused(staff_client, reverse("admin:orders_order_add"), add_data, bad)
