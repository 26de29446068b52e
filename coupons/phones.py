"""Customer phone numbers as the coupon engine stores and compares them: E.164 strings."""

import phonenumbers
from phonenumber_field.phonenumber import PhoneNumber

from .errors import CouponError

DEFAULT_REGION = "IN"


def phone_to_e164(phone: str | PhoneNumber | None) -> str:
    """'+919000090000', '919000090000' (WhatsApp's user_id), '09000090000' and '90000 90000'
    all give '+919000090000'. A bare international number of another country ('14155552671')
    is read as such. Raises CouponError("invalid_phone") when it is not a valid number."""
    text = str(phone or "").strip()
    candidates = [text]
    if text.isdigit():
        candidates.append(f"+{text}")
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, DEFAULT_REGION)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise CouponError("invalid_phone")
