"""The one queueing step (messaging.services.pipeline): a message kind is a draft builder and
nothing else; defaults, naming, refs, refusals, rows and enqueueing are the pipeline's."""

from unittest import mock

import pytest

from messaging import tasks
from messaging.errors import MessagingError
from messaging.models import MessageKind, SendBatch, SentMessage
from messaging.payloads import coupon_code_payload
from messaging.sandbox import validate_body
from messaging.services.pipeline import MessageDraft, batch_queue, batch_spec

pytestmark = pytest.mark.django_db


def reminder_draft(phone, spec):
    """A fourth kind, as a new one would be written: only its builder."""
    if phone.endswith("0"):
        raise MessagingError(f"{phone} asked not to get reminders.", code="opted_out")
    payload = coupon_code_payload(code="LATER", **spec.payload_args(to=phone, ref="reminder"))
    return MessageDraft(kind=spec.kind, recipient=phone, payload=payload)


def test_a_new_kind_is_a_builder_and_the_pipeline_does_the_rest(
    kaleyra, django_capture_on_commit_callbacks
):
    kaleyra.KALEYRA_COUPON_TEMPLATE = "coupon_default"
    kaleyra.KALEYRA_TEMPLATE_LANGUAGE = "en_US"
    spec = batch_spec(kind=MessageKind.COUPON_CODE, detail="reminder", ref1="x" * 300)
    phones = ["+919812345671", "+919812345670", "+919812345672"]
    with (
        mock.patch.object(tasks.batch_dispatch, "delay") as dispatch,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        result = batch_queue(spec=spec, targets=((p, p) for p in phones), build=reminder_draft)
    batch = result.batch
    assert batch.name.startswith("Coupon code reminder ")
    assert (batch.template_name, batch.language, batch.requested) == ("coupon_default", "en_US", 3)
    assert batch.refused == [
        {
            "target": "+919812345670",
            "code": "opted_out",
            "reason": "+919812345670 asked not to get reminders.",
        }
    ]
    rows = list(SentMessage.objects.filter(batch=batch).order_by("pk"))
    assert [str(row.recipient) for row in rows] == ["+919812345671", "+919812345672"]
    assert {(row.status, row.ref, row.ref1, row.ref2) for row in rows} == {
        ("queued", "reminder", "x" * 255, batch.name)
    }
    assert validate_body(rows[0].payload) == "coupon_code"
    assert len(callbacks) == 1
    dispatch.assert_called_once_with(batch.pk)


def test_dry_run_writes_nothing_and_enqueues_nothing(kaleyra, django_capture_on_commit_callbacks):
    spec = batch_spec(kind=MessageKind.COUPON_CODE)
    with django_capture_on_commit_callbacks() as callbacks:
        result = batch_queue(
            spec=spec,
            targets=[("+919812345671", "+919812345671")],
            build=reminder_draft,
            dry_run=True,
        )
    assert result.preview["messaging_object"]["to"] == "+919812345671"
    assert callbacks == []
    assert not SendBatch.objects.exists() and not SentMessage.objects.exists()


def test_every_target_refused_means_no_batch(kaleyra):
    spec = batch_spec(kind=MessageKind.COUPON_CODE)
    result = batch_queue(
        spec=spec, targets=[("+919812345670", "+919812345670")], build=reminder_draft
    )
    assert result.batch is None
    assert [(r.target, r.code) for r in result.refused] == [("+919812345670", "opted_out")]
    assert not SendBatch.objects.exists() and not SentMessage.objects.exists()


def test_send_forms_take_their_default_template_from_the_same_table(kaleyra):
    from messaging.forms import CouponCodeForm, OrderDetailsForm, OrderStatusForm

    kaleyra.KALEYRA_ORDER_DETAILS_TEMPLATE = "details_t"
    kaleyra.KALEYRA_ORDER_STATUS_TEMPLATE = "status_t"
    kaleyra.KALEYRA_COUPON_TEMPLATE = "coupon_t"
    assert [
        form().fields["template_name"].initial
        for form in (OrderDetailsForm, OrderStatusForm, CouponCodeForm)
    ] == ["details_t", "status_t", "coupon_t"]
    assert [
        batch_spec(kind=kind).template_name
        for kind in (MessageKind.ORDER_DETAILS, MessageKind.ORDER_STATUS, MessageKind.COUPON_CODE)
    ] == ["details_t", "status_t", "coupon_t"]
