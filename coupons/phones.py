"""Customer phone numbers as the coupon engine stores and compares them: E.164 strings.

The rule itself lives in common.phones (one home: the queueing code and the matching of
provider events use it too); the coupon engine refuses what it does not accept."""

from phonenumber_field.phonenumber import PhoneNumber

from common.phones import phone_e164

from .errors import CouponError


def phone_to_e164(phone: str | PhoneNumber | None) -> str:
    """'+919000090000', '919000090000' (WhatsApp's user_id), '09000090000' and '90000 90000'
    all give '+919000090000'. A bare international number of another country ('14155552671')
    is read as such. Raises CouponError(code="invalid_phone") when it is not a valid number."""
    e164 = phone_e164(phone)
    if e164 is None:
        raise CouponError(code="invalid_phone")
    return e164
