"""The coupons admin: rules in rupees with clear errors, live usage, pool actions."""

import pytest
from django.urls import reverse

from coupons.models import Coupon, PoolCode
from coupons.services import order_apply_coupon, pool_code_assign
from orders.models import EventSource
from tests.coupons.conftest import PHONE
from tests.factories import CouponFactory, CouponPoolFactory, PoolCodeFactory


def coupon_form(**overrides):
    data = {
        "code": "new10",
        "public_id": "new_10",
        "description": "Save 10%",
        "is_active": "on",
        "discount_type": "percentage",
        "percent_off": "10",
        "max_discount": "",
        "amount_off": "",
        "min_order_value": "",
        "valid_from_0": "",
        "valid_from_1": "",
        "valid_until_0": "",
        "valid_until_1": "",
        "usage_limit": "",
        "per_customer_limit": "1",
        "phones-TOTAL_FORMS": "0",
        "phones-INITIAL_FORMS": "0",
        "redemptions-TOTAL_FORMS": "0",
        "redemptions-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


ADD_URL = "/admin/coupons/coupon/add/"


def test_add_a_coupon_with_money_in_rupees(admin_client):
    response = admin_client.post(
        ADD_URL,
        coupon_form(max_discount="1,500.50", min_order_value="200"),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    coupon = Coupon.objects.get()
    assert (coupon.code, coupon.max_discount, coupon.min_order_value) == ("NEW10", 150050, 20000)


def test_a_fixed_coupon_in_rupees(admin_client):
    admin_client.post(
        ADD_URL, coupon_form(discount_type="fixed", percent_off="", amount_off="200.00")
    )
    assert Coupon.objects.get().amount_off == 20000


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"percent_off": "150"}, "percent_off", "A percentage is more than 0 and at most 100."),
        (
            {
                "valid_from_0": "2026-12-10",
                "valid_from_1": "10:00",
                "valid_until_0": "2026-12-01",
                "valid_until_1": "10:00",
            },
            "valid_until",
            "The end must be after the start.",
        ),
        (
            {"discount_type": "fixed", "percent_off": "", "amount_off": "50", "max_discount": "10"},
            "max_discount",
            "Only percentage coupons can have a cap.",
        ),
        (
            {"amount_off": "12.345", "discount_type": "fixed", "percent_off": ""},
            "amount_off",
            "Use at most two decimals (whole paise).",
        ),
    ],
)
def test_clear_validation_errors(admin_client, overrides, field, message):
    response = admin_client.post(ADD_URL, coupon_form(**overrides))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [message]
    assert not Coupon.objects.exists()


def test_change_page_shows_live_usage_and_redemptions(admin_client, order):
    coupon = CouponFactory(code="FLAT", amount_off=2000, usage_limit=5)
    order_apply_coupon(order=order, code="FLAT", phone=PHONE, source=EventSource.CHECKOUT)

    listing = admin_client.get("/admin/coupons/coupon/")
    page = admin_client.get(f"/admin/coupons/coupon/{coupon.pk}/change/")

    assert "1 of 5" in listing.content.decode()
    html = page.content.decode()
    assert order.reference_id in html
    assert "20.00" in html
    assert "reserved" in html.lower()


def test_generate_codes_action_asks_then_generates(admin_client):
    pool = CouponPoolFactory()
    url = "/admin/coupons/couponpool/"
    selection = {"action": "generate_codes", "_selected_action": [pool.pk]}

    ask = admin_client.post(url, selection)
    assert ask.status_code == 200
    assert "Generate codes" in ask.content.decode()

    refused = admin_client.post(
        url, {**selection, "apply": "1", "count": "10", "prefix": "LONGPREFIX", "length": "8"}
    )
    assert "at most 15 characters" in refused.content.decode()
    assert not PoolCode.objects.exists()

    done = admin_client.post(
        url, {**selection, "apply": "1", "count": "25", "prefix": "xmas", "length": "6"}
    )
    assert done.status_code == 302
    codes = list(PoolCode.objects.values_list("code", flat=True))
    assert len(codes) == 25 and all(code.startswith("XMAS") for code in codes)


def test_export_action_downloads_the_pool_as_csv(admin_client):
    pool = CouponPoolFactory(coupon=CouponFactory(code="CAMP"))
    PoolCodeFactory(pool=pool, code="ONE111")
    pool_code_assign(coupon=pool.coupon, phone=PHONE)

    response = admin_client.post(
        "/admin/coupons/couponpool/", {"action": "export_csv", "_selected_action": [pool.pk]}
    )

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="pool-CAMP.csv"'
    lines = response.content.decode().splitlines()
    assert lines[0] == "code,assigned_phone,assigned_at,redeemed_order,status"
    assert lines[1].startswith("ONE111,+919000090000,")
    assert lines[1].endswith(",,assigned")


def test_import_view_imports_or_lists_bad_rows(admin_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    pool = CouponPoolFactory()
    url = reverse("admin:coupons_couponpool_import", args=[pool.pk])
    assert admin_client.get(f"/admin/coupons/couponpool/{pool.pk}/change/").status_code == 200

    bad = admin_client.post(url, {"file": SimpleUploadedFile("c.csv", b"code\nAAA1\nAAA1\n")})
    assert bad.status_code == 200
    assert bad.context["form"].errors["file"] == [
        "Nothing was imported.",
        "Line 3: 'AAA1' repeats line 2.",
    ]
    assert not PoolCode.objects.exists()

    good = admin_client.post(url, {"file": SimpleUploadedFile("c.csv", b"AAA1\nBBB2\n")})
    assert good.status_code == 302
    assert PoolCode.objects.count() == 2


def test_coupon_pages_show_money_as_rupees_with_the_sign(admin_client, order):
    CouponFactory(code="FLAT", amount_off=2000)
    CouponFactory(
        code="TENPC", discount_type="percentage", amount_off=None, percent_off=10, max_discount=5000
    )
    order_apply_coupon(order=order, code="FLAT", phone=PHONE, source=EventSource.CHECKOUT)
    listing = admin_client.get("/admin/coupons/coupon/").content.decode()
    flat = Coupon.objects.get(code="FLAT")
    page = admin_client.get(f"/admin/coupons/coupon/{flat.pk}/change/").content.decode()
    assert "₹20.00" in listing
    assert "10 % (at most ₹50.00)" in listing
    assert "₹20.00" in page  # the redemption's discount
    for old in ("Rs ", "(Rs)", "(RS)"):
        assert old not in listing + page
