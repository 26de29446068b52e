"""Turn an operator's request (orders, a coupon and phone numbers) into a send batch.

Everything is checked and built first; then the batch and its SentMessage rows (status queued,
with the exact JSON to send) are written in one transaction with bulk inserts, and the sending is
enqueued only once that transaction commits. Whatever cannot be sent is returned as a Refusal
naming it and why, never dropped silently. `dry_run=True` does all of it inside a transaction that
is rolled back: the admin's preview shows exactly what would be sent, refusals included.
"""

import csv
import io
import json
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from common.phones import phone_e164
from coupons.errors import CouponError
from coupons.models import CouponPool
from coupons.services import pool_code_assign, pool_codes_assign
from orders.errors import OrderError
from orders.models import EventSource, OrderEvent
from orders.selectors import order_reference_latest
from orders.services import order_event_record, order_reference_issue, order_status_change

from ..errors import MessagingError
from ..models import MessageKind, MessageStatus, SendBatch, SentMessage
from ..payloads import (
    coupon_code_payload,
    extra_info_build,
    order_details_check,
    order_details_payload,
    order_status_check,
    order_status_payload,
)


@dataclass(frozen=True)
class Refusal:
    target: str
    code: str
    reason: str


@dataclass
class QueueResult:
    batch: SendBatch | None
    messages: list = field(default_factory=list)
    refused: list = field(default_factory=list)

    @property
    def preview(self) -> dict | None:
        return self.messages[0].payload if self.messages else None


def order_details_send(
    *,
    orders,
    template_name: str = "",
    language: str = "",
    header_image_url: str = "",
    ref: str = "",
    ref1: str = "",
    ref2: str = "",
    wa_source: str | None = None,
    batch_name: str = "",
    user=None,
    source: str = EventSource.ADMIN,
    dry_run: bool = False,
    batch: SendBatch | None = None,
) -> QueueResult:
    """Queue a checkout (order details) message to each order's customer. Each message gets a
    fresh reference_id (the order's own, then -2, -3 ...)."""
    kind = MessageKind.ORDER_DETAILS
    template_name = template_name or settings.KALEYRA_ORDER_DETAILS_TEMPLATE
    language = language or settings.KALEYRA_TEMPLATE_LANGUAGE
    name = batch.name if batch else batch_name or _batch_name(kind)
    refused, messages = [], []
    with _atomic(dry_run):
        for order in orders:
            try:
                to = _order_phone(order)
                order_details_check(order=order)
                reference_id = order_reference_issue(order=order)
                payload = order_details_payload(
                    order=order,
                    reference_id=reference_id,
                    to=to,
                    template_name=template_name,
                    language=language,
                    header_image_url=header_image_url or order.header_image_url,
                    extra_info=extra_info_build(
                        ref=ref or reference_id,
                        ref1=ref1 or kind,
                        ref2=ref2 or name,
                        wa_source=wa_source,
                    ),
                )
            except (MessagingError, OrderError) as exc:
                refused.append(Refusal(order.reference_id, exc.code, exc.message))
                continue
            order_event_record(
                order=order,
                kind=OrderEvent.Kind.MESSAGE,
                field="order_details",
                before=None,
                after=reference_id,
                source=source,
                actor=user,
                note=f"Checkout message queued ({name})",
            )
            messages.append(_message(kind, payload, to=to, order=order))
        return _batch_write(
            kind, name, template_name, language, messages, refused, user, dry_run, batch
        )


def order_status_send(
    *,
    orders,
    status: str,
    description: str = "",
    template_name: str = "",
    language: str = "",
    ref: str = "",
    ref1: str = "",
    ref2: str = "",
    wa_source: str | None = None,
    batch_name: str = "",
    user=None,
    source: str = EventSource.ADMIN,
    dry_run: bool = False,
    batch: SendBatch | None = None,
) -> QueueResult:
    """Move each order to `status` and queue the order-status message telling its customer.
    An order that cannot make the move is refused and left as it was."""
    kind = MessageKind.ORDER_STATUS
    template_name = template_name or settings.KALEYRA_ORDER_STATUS_TEMPLATE
    language = language or settings.KALEYRA_TEMPLATE_LANGUAGE
    description = (description or "").strip()
    order_status_check(status=status, description=description)
    name = batch.name if batch else batch_name or _batch_name(kind, status)
    refused, messages = [], []
    with _atomic(dry_run):
        for order in orders:
            try:
                to = _order_phone(order)
                last = order_reference_latest(order=order)
                reference_id = last.reference_id if last else order.reference_id
                payload = order_status_payload(
                    reference_id=reference_id,
                    status=status,
                    description=description,
                    to=to,
                    template_name=template_name,
                    language=language,
                    extra_info=extra_info_build(
                        ref=ref or reference_id,
                        ref1=ref1 or kind,
                        ref2=ref2 or name,
                        wa_source=wa_source,
                    ),
                )
                order_status_change(
                    order=order, status=status, source=source, actor=user, note=f"{name}"
                )
            except (MessagingError, OrderError) as exc:
                refused.append(Refusal(order.reference_id, exc.code, exc.message))
                continue
            messages.append(_message(kind, payload, to=to, order=order))
        return _batch_write(
            kind, name, template_name, language, messages, refused, user, dry_run, batch
        )


def coupon_code_send(
    *,
    coupon,
    recipients,
    template_name: str = "",
    language: str = "",
    ref: str = "",
    ref1: str = "",
    ref2: str = "",
    wa_source: str | None = None,
    batch_name: str = "",
    user=None,
    dry_run: bool = False,
) -> QueueResult:
    """Queue the coupon-code message to each recipient (raw phone strings; invalid and repeated
    ones are refused). A coupon with a code pool sends each recipient its own assigned code."""
    kind = MessageKind.COUPON_CODE
    template_name = template_name or settings.KALEYRA_COUPON_TEMPLATE
    language = language or settings.KALEYRA_TEMPLATE_LANGUAGE
    if not coupon.is_active:
        raise MessagingError(f"Coupon {coupon.code} is not active.", code="coupon_inactive")
    if coupon.valid_until and coupon.valid_until <= timezone.now():
        raise MessagingError(f"Coupon {coupon.code} has expired.", code="coupon_expired")
    name = batch_name or _batch_name(kind, coupon.code)
    phones, refused = recipients_validate(recipients)
    messages = []
    with _atomic(dry_run):
        codes = _coupon_codes(coupon, phones, refused)
        for phone in phones:
            code = codes.get(phone)
            if code is None:
                continue
            payload = coupon_code_payload(
                code=code,
                to=phone,
                template_name=template_name,
                language=language,
                extra_info=extra_info_build(
                    ref=ref or code, ref1=ref1 or kind, ref2=ref2 or name, wa_source=wa_source
                ),
            )
            messages.append(_message(kind, payload, to=phone, coupon=coupon))
        return _batch_write(kind, name, template_name, language, messages, refused, user, dry_run)


def _coupon_codes(coupon, phones: list[str], refused: list) -> dict[str, str]:
    """Each recipient's code. A coupon without a pool sends its own code to all (asked of the
    coupon engine only with a pool: it would read the ten thousand numbers again, which costs
    as much as the rest of the campaign). With a pool, the codes come in a few queries; when
    the pool cannot cover everyone, one by one until it runs out, the rest refused."""
    if not CouponPool.objects.filter(coupon=coupon).exists():
        return dict.fromkeys(phones, coupon.code)
    try:
        return pool_codes_assign(coupon=coupon, phones=phones)
    except CouponError as exc:
        if exc.code != "pool_exhausted":
            raise MessagingError(exc.message, code=exc.code) from exc
    codes = {}
    for phone in phones:
        try:
            codes[phone] = pool_code_assign(coupon=coupon, phone=phone)
        except CouponError as error:
            refused.append(Refusal(phone, error.code, error.message))
    return codes


def recipients_parse(*, text: str = "", csv_file=None) -> list[str]:
    """Phone numbers as the operator gave them: one per line in `text`, and the first column of
    an uploaded CSV file (a header row without digits is skipped). Blank lines are ignored."""
    raw = [line.strip() for line in (text or "").splitlines()]
    if csv_file is not None:
        content = csv_file.read()
        if isinstance(content, bytes):
            content = content.decode("utf-8-sig", errors="replace")
        reader = csv.reader(io.StringIO(content, newline=""))
        try:
            for index, row in enumerate(reader):
                cell = row[0].strip() if row else ""
                if index == 0 and cell and not any(char.isdigit() for char in cell):
                    continue
                raw.append(cell)
        except csv.Error as error:
            raise MessagingError(
                f"The CSV file cannot be read at line {reader.line_num}: {error}.",
                code="invalid_file",
            ) from None
    return [value for value in raw if value]


def recipients_validate(recipients) -> tuple[list[str], list[Refusal]]:
    """E.164 numbers (Indian numbers may omit +91), in the given order, without repeats."""
    phones, refused, seen = [], [], set()
    for raw in recipients:
        raw = str(raw).strip()
        phone = phone_e164(raw)
        if phone is None:
            refused.append(Refusal(raw, "invalid_phone", f"'{raw}' is not a valid phone number."))
        elif phone in seen:
            refused.append(Refusal(raw, "duplicate_phone", f"{phone} is listed more than once."))
        else:
            seen.add(phone)
            phones.append(phone)
    return phones, refused


def _order_phone(order) -> str:
    phone = order.customer_phone
    if not phone or not phone.is_valid():
        raise MessagingError(
            f"Order {order.reference_id} has no valid customer phone ({phone or 'empty'}).",
            code="invalid_phone",
        )
    return phone.as_e164


@dataclass(frozen=True)
class MessageDraft:
    """A message about to be queued (cheap to build by the ten thousand; the row is written by
    `_batch_write`)."""

    kind: str
    recipient: str
    payload: dict
    order: object = None
    coupon: object = None

    @property
    def ref(self) -> str:
        return self.payload["extra_info"]["ref"]


def _message(kind, payload, *, to, order=None, coupon=None) -> MessageDraft:
    return MessageDraft(kind=kind, recipient=to, payload=payload, order=order, coupon=coupon)


def _batch_write(kind, name, template_name, language, messages, refused, user, dry_run, batch=None):
    refused_rows = [asdict(refusal) for refusal in refused]
    if batch is None:
        if not messages:
            return QueueResult(batch=None, messages=[], refused=refused)
        batch = SendBatch.objects.create(
            name=name,
            kind=kind,
            created_by=user if user is not None and user.is_authenticated else None,
            template_name=template_name,
            language=language,
            refused=refused_rows,
            requested=len(messages) + len(refused),
            prepared_at=timezone.now(),
        )
    else:  # a batch created earlier, prepared now by a worker
        batch.refused = refused_rows
        batch.prepared_at = timezone.now()
        batch.save(update_fields=["refused", "prepared_at"])
    if messages:
        _messages_insert(batch, messages)
        if not dry_run:
            from ..tasks import batch_dispatch

            batch_id = batch.pk
            # robust: a broker outage must not undo the answer; the sweep enqueues these later.
            transaction.on_commit(lambda: batch_dispatch.delay(batch_id), robust=True)
    return QueueResult(batch=batch, messages=messages, refused=refused)


def orders_send_later(*, kind: str, orders, user=None, **options) -> SendBatch:
    """For big order selections: create the batch now and let a worker prepare its messages
    (`orders_batch_prepare`), so the admin answers at once. Options are those of
    order_details_send / order_status_send; whole-request problems are refused here."""
    if kind == MessageKind.ORDER_STATUS:
        order_status_check(status=options["status"], description=options.get("description", ""))
        default_name = _batch_name(kind, options["status"])
    else:
        default_name = _batch_name(kind)
    ids = list(orders.order_by("pk").values_list("pk", flat=True))
    template_setting = _TEMPLATE_SETTINGS[kind]
    batch = SendBatch.objects.create(
        name=options.get("batch_name") or default_name,
        kind=kind,
        created_by=user if user is not None and user.is_authenticated else None,
        template_name=options.get("template_name") or getattr(settings, template_setting),
        language=options.get("language") or settings.KALEYRA_TEMPLATE_LANGUAGE,
        requested=len(ids),
    )
    from ..tasks import orders_batch_prepare

    user_id = batch.created_by_id
    transaction.on_commit(
        lambda: orders_batch_prepare.delay(batch.pk, ids, options, user_id), robust=True
    )
    return batch


def orders_batch_prepare(*, batch_id: int, order_ids, options: dict, user=None) -> QueueResult:
    """Write the messages of a batch created by `orders_send_later` (once: a second delivery of
    the task finds it prepared)."""
    from orders.models import Order

    with transaction.atomic():
        batch = SendBatch.objects.select_for_update().get(pk=batch_id)
        if batch.prepared_at is not None:
            return QueueResult(batch=batch)
        orders = (
            Order.objects.filter(pk__in=list(order_ids))
            .order_by("pk")
            .select_related("selected_address")
            .prefetch_related("items", "addresses")
        )
        send = order_details_send if batch.kind == MessageKind.ORDER_DETAILS else order_status_send
        try:
            return send(orders=orders, batch=batch, user=user, source=EventSource.ADMIN, **options)
        except MessagingError as exc:
            batch.refused = [asdict(Refusal("all", exc.code, exc.message))]
            batch.prepared_at = timezone.now()
            batch.save(update_fields=["refused", "prepared_at"])
            return QueueResult(batch=batch, refused=[Refusal("all", exc.code, exc.message)])


_TEMPLATE_SETTINGS = {
    MessageKind.ORDER_DETAILS: "KALEYRA_ORDER_DETAILS_TEMPLATE",
    MessageKind.ORDER_STATUS: "KALEYRA_ORDER_STATUS_TEMPLATE",
    MessageKind.COUPON_CODE: "KALEYRA_COUPON_TEMPLATE",
}


# The columns a queued message is written with (the others are empty until it is sent).
_COLUMNS = (
    "batch_id",
    "kind",
    "recipient",
    "order_id",
    "coupon_id",
    "template_name",
    "language",
    "payload",
    "ref",
    "ref1",
    "ref2",
    "wa_source",
    "status",
    "error_code",
    "error_message",
    "attempts",
    "created_at",
    "updated_at",
    "next_attempt_at",
)


def _row(batch, draft: MessageDraft, now) -> tuple:
    template = draft.payload["messaging_object"]["template"]
    extra = draft.payload["extra_info"]
    return (
        batch.pk,
        draft.kind,
        draft.recipient,
        draft.order.pk if draft.order is not None else None,
        draft.coupon.pk if draft.coupon is not None else None,
        template["name"],
        template["language"]["code"],
        draft.payload,
        extra["ref"],
        extra["ref1"],
        extra["ref2"],
        extra["wa_source"],
        MessageStatus.QUEUED,
        "",
        "",
        0,
        now,
        now,
        now,
    )


def _messages_insert(batch, drafts) -> None:
    """Write the queued rows. On PostgreSQL with COPY: ten thousand rows in a fraction of a
    second, where the ORM's bulk_create adapts every value of every row in Python and takes
    seconds. Elsewhere (SQLite) with bulk_create."""
    now = timezone.now()
    rows = [_row(batch, draft, now) for draft in drafts]
    if connection.vendor != "postgresql":
        objects = [SentMessage(**dict(zip(_COLUMNS, row, strict=True))) for row in rows]
        SentMessage.objects.bulk_create(objects, batch_size=1000)
        return
    table = connection.ops.quote_name(SentMessage._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(column) for column in _COLUMNS)
    payload_index = _COLUMNS.index("payload")
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # noqa: S608
            for row in rows:
                values = list(row)
                values[payload_index] = json.dumps(values[payload_index], ensure_ascii=False)
                copy.write_row(values)


def _batch_name(kind, detail: str = "") -> str:
    stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M:%S")
    label = MessageKind(kind).label
    return f"{label} {detail} {stamp}" if detail else f"{label} {stamp}"


@contextmanager
def _atomic(dry_run: bool):
    with transaction.atomic():
        yield
        if dry_run:
            transaction.set_rollback(True)
