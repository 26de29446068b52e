"""The three send-message pages under bad input: wrong values and over-long fields in the form,
and recipients CSV files in wrong encodings, shapes and sizes. A clear error naming what was
wrong, and nothing stored: no batch, no message, no order event, no pool code given out."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from common.forms import CSV_MAX_BYTES, CSV_MAX_LINES
from messaging.payloads import DESCRIPTION_MAX_LENGTH, REF_MAX_LENGTH
from tests.bad_input import changed_models, stored_rows
from tests.factories import CouponFactory

from .test_admin import COUPONS, ORDERS, pending_order

pytestmark = pytest.mark.django_db

COMMON = {"template_name": "tpl", "language": "en_US", "_send": "Send"}
COMMON_BAD = [
    ("template_name", "t" * 513, "at most 512 characters"),
    ("language", "en_US_" * 3, "at most 16 characters"),
    ("batch_name", "b" * 256, "at most 255 characters"),
    ("ref", "r" * (REF_MAX_LENGTH + 1), f"at most {REF_MAX_LENGTH} characters"),
    ("ref1", "r" * (REF_MAX_LENGTH + 1), f"at most {REF_MAX_LENGTH} characters"),
    ("ref2", "r" * (REF_MAX_LENGTH + 1), f"at most {REF_MAX_LENGTH} characters"),
    ("wa_source", "telegram", "Select a valid choice"),
    ("template_name", "", "This field is required."),
]


@pytest.fixture
def order():
    return pending_order(customer_phone="+919000090011")


@pytest.fixture
def coupon():
    return CouponFactory(code="FESTIVE")


def _post(client, url, data):
    before = stored_rows()
    response = client.post(url, data)
    assert response.status_code == 200
    assert response.templates[0].name == "messaging/send_form.html"
    assert changed_models(before, stored_rows()) == []
    return response


def _field_error(response, field, message):
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert message in response.content.decode().replace("&#x27;", "'")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        *COMMON_BAD,
        ("header_image_url", "not a url", "Enter a valid URL."),
        ("header_image_url", "https://x.example/" + "a" * 1024, "at most 1024 characters"),
    ],
)
def test_order_details_form(client, operator, kaleyra, order, field, value, message):
    data = {"action": "send_order_details", "index": 0, "_selected_action": [order.pk], **COMMON}
    response = _post(client, ORDERS, {**data, field: value})
    _field_error(response, field, message)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        *COMMON_BAD,
        ("status", "teleported", "Select a valid choice"),
        ("status", "", "This field is required."),
        (
            "description",
            "d" * (DESCRIPTION_MAX_LENGTH + 1),
            f"at most {DESCRIPTION_MAX_LENGTH} characters",
        ),
    ],
)
def test_order_status_form(client, operator, kaleyra, order, field, value, message):
    data = {
        "action": "send_order_status",
        "index": 0,
        "_selected_action": [order.pk],
        "status": "shipped",
        **COMMON,
    }
    response = _post(client, ORDERS, {**data, field: value})
    _field_error(response, field, message)
    order.refresh_from_db()
    assert order.status == "pending"


def _coupon_data(coupon, **extra):
    return {
        "action": "send_coupon_code",
        "index": 0,
        "_selected_action": [coupon.pk],
        "recipients": "+919000090001",
        **COMMON,
        **extra,
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        *COMMON_BAD,
        ("recipients", "9000090001\n" * (CSV_MAX_LINES + 1), "at most 100,000 numbers"),
    ],
)
def test_coupon_code_form(client, operator, kaleyra, coupon, field, value, message):
    response = _post(client, COUPONS, _coupon_data(coupon, **{field: value}))
    _field_error(response, field, message)


NOT_UTF8 = "The file is not UTF-8 text (save it as CSV UTF-8)."


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("phone\n9000090001\nJosé\n".encode("latin-1"), NOT_UTF8),
        ("phone\n9000090001\n".encode("utf-16"), NOT_UTF8),
        ("9000090001\n".encode("utf-16-le"), NOT_UTF8),
        (bytes(range(256)) * 4, NOT_UTF8),
        (b"", "The submitted file is empty."),
        (b"x" * (CSV_MAX_BYTES + 1), "larger than 5.0\xa0MB"),
        (b"9000090001\n" * (CSV_MAX_LINES + 1), "at most 100,000 can be uploaded"),
    ],
    ids=["latin-1", "utf-16-bom", "utf-16-no-bom", "binary", "empty", "too-big", "too-long"],
)
def test_a_bad_recipients_file_names_the_problem(
    client, operator, kaleyra, coupon, content, message
):
    upload = SimpleUploadedFile("phones.csv", content)
    response = _post(client, COUPONS, _coupon_data(coupon, recipients_file=upload))
    _field_error(response, "recipients_file", message)


def test_a_file_csv_cannot_read_is_an_error_on_the_page(client, operator, kaleyra, coupon):
    upload = SimpleUploadedFile("phones.csv", b"9000090001\n" + b"9" * 200_000 + b"\n")
    response = _post(client, COUPONS, _coupon_data(coupon, recipients_file=upload))
    assert response.context["error"] == (
        "The CSV file cannot be read at line 2: field larger than field limit (131072)."
    )


@pytest.mark.parametrize(
    "content",
    [
        b"\xef\xbb\xbfphone\n9000090002\n+919000090003\n",  # Excel's CSV UTF-8
        b"phone,name\r\n9000090002,Asha\r\n+919000090003,Ravi,extra\r\n",
        b"9000090002\r+919000090003\r",  # old Mac lines
    ],
    ids=["utf-8-bom", "crlf-extra-columns", "cr"],
)
def test_usual_files_are_read(client, operator, kaleyra, coupon, content):
    upload = SimpleUploadedFile("phones.csv", content)
    data = _coupon_data(coupon, recipients_file=upload, _preview="1")
    del data["_send"]
    response = _post(client, COUPONS, data)
    result = response.context["result"]
    assert [str(message.recipient) for message in result.messages] == [
        "+919000090001",
        "+919000090002",
        "+919000090003",
    ]
    assert result.refused == []


def test_wrong_and_repeated_numbers_are_listed_and_nothing_is_sent_for_them(
    client, operator, kaleyra, coupon
):
    upload = SimpleUploadedFile("phones.csv", b"phone\n12345\n+919000090001\n0\n+1 555\n")
    data = _coupon_data(coupon, recipients_file=upload, _preview="1")
    del data["_send"]
    response = _post(client, COUPONS, data)
    refused = [(r.target, r.code) for r in response.context["result"].refused]
    assert refused == [
        ("12345", "invalid_phone"),
        ("+919000090001", "duplicate_phone"),
        ("0", "invalid_phone"),
        ("+1 555", "invalid_phone"),
    ]


def test_pasted_recipients_over_the_upload_limit_are_a_400(client, operator, kaleyra, coupon):
    before = stored_rows()
    response = client.post(COUPONS, _coupon_data(coupon, recipients="9000090001\n" * 250_000))
    assert response.status_code == 400
    assert changed_models(before, stored_rows()) == []
