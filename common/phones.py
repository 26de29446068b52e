"""Phone numbers: the one rule that turns what a person or a provider wrote into E.164.

Operators paste numbers (Indian ones may leave out +91 or write 0 first), customers give theirs at
checkout, and Kaleyra's callbacks carry WhatsApp's user_id (the E.164 digits without the +). The
queueing code, the coupon engine and the matching of provider events all call `phone_e164`.
"""

import re

import phonenumbers
from django.conf import settings
from phonenumber_field.phonenumber import PhoneNumber

# +91 and ten digits not starting with 0, the same without + (WhatsApp's user_id), or the ten
# digits alone. For these phonenumbers.parse gives country code 91 and the ten digits as the
# national number; its parsing costs ~50 µs a number, which matters when a campaign goes to
# 10,000 customers, so they skip it and go straight to its validity check.
_INDIAN = re.compile(r"(?:\+?91)?([1-9][0-9]{9})")


def phone_e164(raw) -> str | None:
    """The E.164 form of a valid number, else None. '+919000090000', '919000090000',
    '09000090000' and '90000 90000' all give '+919000090000' (in the default region India); a
    bare international number of another country ('14155552671', a WhatsApp user_id) is read as
    such when it is not a valid number of the default region."""
    text = str(raw or "").strip()
    region = settings.PHONENUMBER_DEFAULT_REGION
    indian = _INDIAN.fullmatch(text)
    if indian and region == "IN":
        number = phonenumbers.PhoneNumber(country_code=91, national_number=int(indian[1]))
        return f"+91{indian[1]}" if phonenumbers.is_valid_number_for_region(number, "IN") else None
    candidates = [text, f"+{text}"] if text.isdigit() else [text]
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


class _CheckedPhoneNumber(PhoneNumber):
    """A number phone_e164 found valid: a PhoneNumberField stores it without checking again."""

    def is_valid(self) -> bool:
        return True


_INDIAN_E164 = re.compile(r"\+91([1-9][0-9]{9})")


def phone_number_of_e164(e164: str) -> PhoneNumber:
    """The value to set on a PhoneNumberField for an E.164 string that phone_e164 returned:
    the same number the field would parse from it, without parsing an Indian number again nor
    checking its validity again when it is saved (an import saves thousands)."""
    indian = _INDIAN_E164.fullmatch(e164)
    number = _CheckedPhoneNumber()
    if indian:
        number.country_code, number.national_number = 91, int(indian[1])
    else:
        number.merge_from(phonenumbers.parse(e164))
    return number
