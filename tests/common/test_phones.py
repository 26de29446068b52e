"""One phone rule (common.phones) for operators' lists, the coupon engine and provider events."""

import pytest

from common.phones import phone_e164
from coupons.errors import CouponError
from coupons.phones import phone_to_e164
from messaging.services.queueing import recipients_validate


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+919000090000", "+919000090000"),
        ("919000090000", "+919000090000"),  # WhatsApp's user_id, as Kaleyra's callbacks carry it
        ("9000090000", "+919000090000"),
        ("09000090000", "+919000090000"),
        ("90000 90000", "+919000090000"),
        (" +91 90000-90000 ", "+919000090000"),
        ("14155552671", "+14155552671"),  # a foreign user_id: read as international
        ("+14155552671", "+14155552671"),
        ("12345", None),
        ("", None),
        (None, None),
        ("not a phone", None),
        ("+910000000000", None),
    ],
)
def test_one_rule_everywhere(raw, e164):
    assert phone_e164(raw) == e164
    if e164 is None:
        with pytest.raises(CouponError) as error:
            phone_to_e164(raw)
        assert error.value.code == "invalid_phone"
    else:
        assert phone_to_e164(raw) == e164


def test_operator_list_accepts_whatsapp_user_ids_like_the_coupon_engine():
    """Before: the queueing code refused '14155552671' that the coupon engine accepted."""
    phones, refused = recipients_validate(["14155552671", "919000090000", "+919000090000"])
    assert phones == ["+14155552671", "+919000090000"]
    assert [(r.target, r.code) for r in refused] == [("+919000090000", "duplicate_phone")]


@pytest.mark.parametrize("e164", ["+919000090000", "+14155552671", "+447911123456"])
def test_a_checked_e164_number_is_the_number_the_field_would_store(e164):
    from phonenumber_field.phonenumber import PhoneNumber

    from common.phones import phone_number_of_e164
    from orders.models import Order

    number = phone_number_of_e164(e164)
    assert number == PhoneNumber.from_string(e164) and str(number) == e164
    field = Order._meta.get_field("customer_phone")
    assert field.get_prep_value(number) == field.get_prep_value(e164) == e164
