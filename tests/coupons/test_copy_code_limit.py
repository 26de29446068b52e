"""WhatsApp's copy-code button takes codes of at most 15 characters: longer codes are refused
when a coupon is saved (new or changed codes) and when it is queued for sending, with the limit
named and nothing stored. Coupons saved before the rule keep their longer code for checkout.
(Pool generation and CSV import keep the same limit: tests/coupons/test_pools.py; the send
service and command: tests/messaging/test_coupon_messages.py.)"""

import pytest
from django.core.exceptions import ValidationError

from coupons.models import Coupon
from tests.coupons.test_admin import ADD_URL, coupon_form
from tests.factories import CouponFactory

pytestmark = pytest.mark.django_db

FITS = "WELCOME-BACK-24"  # 15 characters
LONGER = "WELCOME-BACK-2024"  # 17


def test_admin_refuses_a_new_code_longer_than_the_button_takes(admin_client):
    response = admin_client.post(ADD_URL, coupon_form(code=LONGER.lower()))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["code"] == [
        "'WELCOME-BACK-2024' is 17 characters long; WhatsApp's copy-code button takes at most "
        "15. Choose a shorter code."
    ]
    assert not Coupon.objects.exists()


def test_admin_takes_a_code_of_exactly_15_characters(admin_client):
    response = admin_client.post(ADD_URL, coupon_form(code=FITS))
    assert response.status_code == 302
    assert Coupon.objects.get().code == FITS


def test_model_clean_names_the_code_field():
    coupon = CouponFactory.build(code=" " + LONGER.lower(), public_id="wb")
    with pytest.raises(ValidationError) as caught:
        coupon.full_clean()
    assert list(caught.value.message_dict) == ["code"]
    assert "takes at most 15" in caught.value.message_dict["code"][0]


def test_a_coupon_saved_before_the_rule_keeps_its_longer_code_when_edited(admin_client):
    coupon = CouponFactory(code=LONGER, public_id="wb")  # stored before the rule
    data = coupon_form(code=LONGER, public_id="wb", description="Checkout only")
    response = admin_client.post(f"/admin/coupons/coupon/{coupon.pk}/change/", data)
    assert response.status_code == 302
    coupon.refresh_from_db()
    assert (coupon.code, coupon.description) == (LONGER, "Checkout only")


def test_changing_a_code_to_a_longer_one_is_refused_and_nothing_changes(admin_client):
    coupon = CouponFactory(code=LONGER, public_id="wb")
    data = coupon_form(code="WELCOME-BACK-2025", public_id="wb", description="Changed")
    response = admin_client.post(f"/admin/coupons/coupon/{coupon.pk}/change/", data)
    assert response.status_code == 200
    assert "takes at most 15" in response.context["adminform"].form.errors["code"][0]
    coupon.refresh_from_db()
    assert (coupon.code, coupon.description) == (LONGER, coupon.description)
    assert coupon.description != "Changed"
