"""Coupon add/change pages and the pool's generate-codes form under wrong numbers and over-long
text: a 200 naming the field, nothing stored."""

import pytest

from coupons.models import Coupon
from tests.bad_input import admin_page_errors, changed_models, stored_rows
from tests.factories import CouponFactory, CouponPoolFactory

from .test_admin import ADD_URL, coupon_form

pytestmark = pytest.mark.django_db

HUGE_RUPEES = "9" * 25 + ".00"
FIXED = {"discount_type": "fixed", "percent_off": "", "amount_off": "100"}
BAD = [
    ({"percent_off": "ten"}, "percent_off", "Enter a number."),
    ({"percent_off": "-5"}, "percent_off", "more than 0 and at most 100"),
    ({"percent_off": "0"}, "percent_off", "more than 0 and at most 100"),
    ({"percent_off": "10.555"}, "percent_off", "decimal places"),
    ({"percent_off": "1e400"}, "percent_off", ""),
    ({**FIXED, "amount_off": "abc"}, "amount_off", "not an amount"),
    ({**FIXED, "amount_off": "-1"}, "amount_off", ""),
    ({**FIXED, "amount_off": HUGE_RUPEES}, "amount_off", ""),
    ({"max_discount": "1.234"}, "max_discount", "two decimals"),
    ({"min_order_value": "lots"}, "min_order_value", "not an amount"),
    ({"usage_limit": "-1"}, "usage_limit", "greater than or equal to 0"),
    ({"usage_limit": "9" * 30}, "usage_limit", "less than or equal to"),
    ({"per_customer_limit": "1.5"}, "per_customer_limit", "Enter a whole number."),
    ({"code": "C" * 65}, "code", "at most 64 characters"),
    ({"code": ""}, "code", "This field is required."),
    ({"public_id": "not a slug!"}, "public_id", ""),
    ({"description": "d" * 1000}, "description", "characters"),
    ({"discount_type": "bogus"}, "discount_type", "Select a valid choice"),
    ({"valid_from_0": "31/31/2026", "valid_from_1": "10:00"}, "valid_from", "Enter a valid date"),
    (
        {"phones-TOTAL_FORMS": "1", "phones-0-phone": "12345"},
        "phones-0-phone",
        "phone number",
    ),
]


def _refused(client, url, data, field, words):
    before = stored_rows()
    response = client.post(url, data)
    assert response.status_code == 200
    errors = admin_page_errors(response)
    assert field in errors, errors
    assert words in errors[field]
    assert changed_models(before, stored_rows()) == []


@pytest.mark.parametrize(("overrides", "field", "words"), BAD)
def test_add_page(admin_client, overrides, field, words):
    _refused(admin_client, ADD_URL, coupon_form(**overrides), field, words)
    assert not Coupon.objects.exists()


@pytest.mark.parametrize(("overrides", "field", "words"), BAD[::2])
def test_change_page(admin_client, overrides, field, words):
    coupon = CouponFactory(code="KEEP10")
    data = {**coupon_form(code="KEEP10", public_id=coupon.public_id), **overrides}
    _refused(admin_client, f"/admin/coupons/coupon/{coupon.pk}/change/", data, field, words)


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"count": "ten"}, "count", "Enter a whole number."),
        ({"count": "0"}, "count", "greater than or equal to 1"),
        ({"count": "-5"}, "count", "greater than or equal to 1"),
        ({"count": "2.5"}, "count", "Enter a whole number."),
        ({"count": "100001"}, "count", "less than or equal to 100000"),
        ({"count": "9" * 40}, "count", "less than or equal to 100000"),
        ({"length": "3"}, "length", "greater than or equal to 4"),
        ({"length": "16"}, "length", "less than or equal to 15"),
        ({"length": ""}, "length", "This field is required."),
        ({"prefix": "P" * 16}, "prefix", "at most 15 characters"),
        ({"prefix": "DIWALI-", "length": "9"}, "__all__", "at most 15 characters"),
        ({"prefix": "no spaces!"}, "__all__", ""),
    ],
)
def test_generate_codes_form(admin_client, fields, field, words):
    pool = CouponPoolFactory()
    data = {
        "action": "generate_codes",
        "_selected_action": [pool.pk],
        "apply": "1",
        "count": "10",
        "prefix": "",
        "length": "8",
        **fields,
    }
    before = stored_rows()
    response = admin_client.post("/admin/coupons/couponpool/", data)
    assert response.status_code == 200
    errors = {k: " ".join(v) for k, v in response.context["form"].errors.items()}
    assert field in errors, errors
    assert words in errors[field]
    assert changed_models(before, stored_rows()) == []
