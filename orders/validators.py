from django.core.validators import RegexValidator

# WhatsApp's rule for reference_id: case-sensitive, 1-35 of English letters, digits, _ - .
REFERENCE_ID_MAX_LENGTH = 35
validate_reference_id = RegexValidator(
    regex=r"^[A-Za-z0-9_.\-]{1,35}\Z",
    message="Use 1 to 35 English letters, digits, underscores, dashes or dots.",
    code="invalid_reference_id",
)
validate_pin_code = RegexValidator(
    regex=r"^[1-9][0-9]{5}\Z",
    message="Enter a six-digit Indian PIN code.",
    code="invalid_pin_code",
)
# shipping_info.phone_number: WhatsApp number digits without "+", at most 12 characters.
validate_address_phone = RegexValidator(
    regex=r"^[0-9]{10,12}\Z",
    message="Enter 10 to 12 digits, country code first and no '+', e.g. 919000090000.",
    code="invalid_address_phone",
)
validate_zone_code = RegexValidator(
    regex=r"^[A-Z]{2}\Z", message="Enter a two-letter zone code, e.g. MH.", code="invalid_zone"
)
validate_country_code = RegexValidator(
    regex=r"^[A-Z]{2}\Z", message="Enter a two-letter country code, e.g. IN.", code="invalid_cc"
)
