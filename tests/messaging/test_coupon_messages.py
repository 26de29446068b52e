"""Coupon code messages: the service, the admin action (pasted and CSV numbers) and the command."""

import copy
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from messaging.errors import MessagingError
from messaging.models import SendBatch, SentMessage
from messaging.services import coupon_code_send
from tests.factories import CouponFactory, CouponPoolFactory, PoolCodeFactory

from .test_admin import COUPONS
from .test_payloads import COUPON_SAMPLE

pytestmark = pytest.mark.django_db


def test_coupon_message_matches_the_sample_and_lists_bad_numbers(kaleyra):
    coupon = CouponFactory(code="2532334")
    result = coupon_code_send(
        coupon=coupon,
        recipients=["+919000090001", "12345", "9000090001"],
        template_name="cc_img_statics20",
        ref="customer1",
        ref1="marketing",
        ref2="dictionary",
    )
    expected = copy.deepcopy(COUPON_SAMPLE)
    expected["messaging_object"]["to"] = "+919000090001"
    assert result.preview == expected
    assert [(r.target, r.code) for r in result.refused] == [
        ("12345", "invalid_phone"),
        ("9000090001", "duplicate_phone"),
    ]
    message = SentMessage.objects.get()
    assert (message.coupon, message.kind, message.payload) == (coupon, "coupon_code", expected)


def test_coupon_message_defaults_for_extra_info(kaleyra):
    coupon = CouponFactory(code="WELCOME5")
    result = coupon_code_send(coupon=coupon, recipients=["+919000090001"])
    extra = result.preview["extra_info"]
    assert extra == {
        "ref": "WELCOME5",
        "ref1": "coupon_code",
        "ref2": result.batch.name,
        "wa_source": "api",
    }
    assert result.preview["messaging_object"]["template"]["name"] == "coupon_code"


def test_pool_coupon_sends_each_recipient_its_own_code(kaleyra):
    pool = CouponPoolFactory(coupon=CouponFactory(code="DIWALI"))
    PoolCodeFactory(pool=pool, code="DW-0001")
    PoolCodeFactory(pool=pool, code="DW-0002")
    result = coupon_code_send(coupon=pool.coupon, recipients=["+919000090001", "+919000090002"])
    codes = {
        m.recipient: m.payload["messaging_object"]["template"]["components"][0]["parameters"][0][
            "coupon_code"
        ]
        for m in result.messages
    }
    assert codes == {"+919000090001": "DW-0001", "+919000090002": "DW-0002"}
    assert [m.ref for m in result.messages] == ["DW-0001", "DW-0002"]
    # The same customers again: the same codes (they hold them).
    again = coupon_code_send(coupon=pool.coupon, recipients=["+919000090002"])
    assert again.messages[0].ref == "DW-0002"


def test_exhausted_pool_refuses_the_recipients_left_without_a_code(kaleyra):
    pool = CouponPoolFactory(coupon=CouponFactory(code="FEW"))
    PoolCodeFactory(pool=pool, code="FEW-1")
    result = coupon_code_send(coupon=pool.coupon, recipients=["+919000090001", "+919000090002"])
    assert [m.ref for m in result.messages] == ["FEW-1"]
    assert [(r.target, r.code) for r in result.refused] == [("+919000090002", "pool_exhausted")]


def test_dry_run_assigns_no_pool_code(kaleyra):
    pool = CouponPoolFactory(coupon=CouponFactory(code="PREVIEW"))
    code = PoolCodeFactory(pool=pool, code="PV-1")
    result = coupon_code_send(coupon=pool.coupon, recipients=["+919000090001"], dry_run=True)
    assert result.messages[0].ref == "PV-1"
    code.refresh_from_db()
    assert code.phone is None


def test_inactive_coupon_is_refused(kaleyra):
    with pytest.raises(MessagingError) as error:
        coupon_code_send(coupon=CouponFactory(is_active=False), recipients=["+919000090001"])
    assert error.value.code == "coupon_inactive"


def test_coupon_action_with_pasted_and_csv_numbers(
    client,
    operator,
    kaleyra,
    django_capture_on_commit_callbacks,
):
    coupon = CouponFactory(code="FESTIVE")
    form = {
        "action": "send_coupon_code",
        "index": 0,
        "_selected_action": [coupon.pk],
        "template_name": "cc_img_statics20",
        "language": "en_US",
        "recipients": "+919000090001\nnot-a-number\n",
    }
    upload = SimpleUploadedFile("numbers.csv", b"phone\n9000090002\n+919000090001\n")
    response = client.post(COUPONS, {**form, "recipients_file": upload, "_preview": "1"})
    assert response.status_code == 200
    assert response.context["queued_count"] == 2
    assert [r.target for r in response.context["result"].refused] == [
        "not-a-number",
        "+919000090001",
    ]
    assert not SendBatch.objects.exists()
    upload = SimpleUploadedFile("numbers.csv", b"phone\n9000090002\n+919000090001\n")
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(COUPONS, {**form, "recipients_file": upload, "_send": "1"})
    assert response.status_code == 302 and len(callbacks) == 1
    batch = SendBatch.objects.get()
    assert sorted(str(m.recipient) for m in batch.messages.all()) == [
        "+919000090001",
        "+919000090002",
    ]
    assert [r["target"] for r in batch.refused] == ["not-a-number", "+919000090001"]


def test_send_coupon_code_command(kaleyra):
    CouponFactory(code="TRYNEW20")
    out = StringIO()
    call_command(
        "send_coupon_code",
        "trynew20",
        "--to",
        "+919000090001",
        "--to",
        "xyz",
        "--template",
        "cc_img_statics20",
        "--ref2",
        "diwali",
        stdout=out,
    )
    output = out.getvalue()
    assert "Queued 1 message(s)" in output and "refused xyz: 'xyz' is not a valid phone" in output
    message = SentMessage.objects.get()
    assert (message.ref, message.ref2, message.template_name) == (
        "TRYNEW20",
        "diwali",
        "cc_img_statics20",
    )


def test_rows_keep_every_character_of_what_was_queued(kaleyra):
    coupon = CouponFactory(code="ESC")
    awkward = 'tab\there, new\nline, back\\slash, "quote", दिवाली \\N'
    result = coupon_code_send(coupon=coupon, recipients=["+919000090001"], ref=awkward, ref2="₹")
    message = SentMessage.objects.get()
    assert (message.ref, message.ref2) == (awkward, "₹")
    assert message.payload == result.preview
    assert message.payload["extra_info"]["ref"] == awkward
    assert message.order is None and message.coupon == coupon and message.attempts == 0


# --- WhatsApp's copy-code button takes at most 15 characters -----------------------------------

LONG_CODE = "WELCOME-BACK-2024"  # 17: a coupon saved before the rule, for checkout


def test_send_service_refuses_a_coupon_whose_own_code_is_too_long(kaleyra):
    coupon = CouponFactory(code=LONG_CODE)
    with pytest.raises(MessagingError) as caught:
        coupon_code_send(coupon=coupon, recipients=["+919000090001"])
    assert caught.value.code == "coupon_code_too_long"
    assert caught.value.message == (
        "Coupon WELCOME-BACK-2024: the code 'WELCOME-BACK-2024' is 17 characters long; "
        "WhatsApp's copy-code button takes at most 15. Give the coupon a code pool (codes of "
        "at most 15 characters) to send it."
    )
    assert not SendBatch.objects.exists() and not SentMessage.objects.exists()


def test_a_long_coupon_code_with_a_pool_sends_its_pool_codes(kaleyra):
    pool = CouponPoolFactory(coupon=CouponFactory(code=LONG_CODE))
    PoolCodeFactory(pool=pool, code="WB-0001")
    result = coupon_code_send(coupon=pool.coupon, recipients=["+919000090001"])
    assert [message.ref for message in result.messages] == ["WB-0001"]


def test_send_command_names_the_limit_and_queues_nothing(kaleyra):
    CouponFactory(code=LONG_CODE)
    with pytest.raises(CommandError) as caught:
        call_command("send_coupon_code", LONG_CODE, "--to", "+919000090001")
    assert "copy-code button takes at most 15" in str(caught.value)
    assert not SendBatch.objects.exists() and not SentMessage.objects.exists()
