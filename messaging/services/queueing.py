"""The message kinds an operator queues: order details (checkout), order status, coupon code.

Each kind is a draft builder (`_order_details_draft`, `_order_status_draft`,
`_coupon_code_draft`): one target and the batch's settings in, a MessageDraft out, or an error
refusing that target. The services below hand their targets to the one queueing step
(messaging.services.pipeline), which applies the defaults, names the batch, collects refusals,
writes the rows and enqueues them. A new kind is one more builder.
"""

import csv
import io
from dataclasses import asdict
from functools import partial

from django.db import transaction
from django.utils import timezone

from common.phones import phone_e164
from coupons.errors import CouponError
from coupons.models import CouponPool
from coupons.services import coupon_send_check, pool_code_assign, pool_codes_assign
from orders.models import EventSource, Order, OrderEvent
from orders.selectors import order_get_by_reference, order_reference_latest
from orders.services import order_event_record, order_reference_issue, order_status_change

from ..errors import MessagingError
from ..models import MessageKind, SendBatch
from ..payloads import (
    coupon_code_payload,
    order_details_check,
    order_details_payload,
    order_status_check,
    order_status_payload,
)
from .pipeline import (
    REFUSALS,
    BatchSpec,
    MessageDraft,
    QueueResult,
    Refusal,
    batch_create,
    batch_queue,
    batch_spec,
    batch_transaction,
    batch_write,
    drafts_build,
)
from .publishing import BATCH_PREPARE, publish
from .templates import template_components_build

__all__ = ["MessageDraft", "QueueResult", "Refusal"]


# The builders: one target in, its draft out (or an error with .code and .message).


def _order_details_draft(order, spec: BatchSpec, *, header_image_url, source, user):
    to = _order_phone(order)
    order_details_check(order=order)
    header_image_url = header_image_url or order.header_image_url
    components = _components(spec, order=order, media_link=header_image_url)
    reference_id = order_reference_issue(order=order)
    payload = order_details_payload(
        order=order,
        reference_id=reference_id,
        header_image_url=header_image_url,
        components=components,
        **spec.payload_args(to=to, ref=reference_id),
    )
    order_event_record(
        order=order,
        kind=OrderEvent.Kind.MESSAGE,
        field="order_details",
        before=None,
        after=reference_id,
        source=source,
        actor=user,
        note=f"Checkout message queued ({spec.name})",
    )
    return MessageDraft(kind=spec.kind, recipient=to, payload=payload, order=order)


def _order_status_draft(order, spec: BatchSpec, *, status, description, references=None):
    to = _order_phone(order)
    reference_id = (references or {}).get(order.pk)
    if reference_id is None:
        last = order_reference_latest(order=order)
        reference_id = last.reference_id if last else order.reference_id
    else:
        owner = order_get_by_reference(reference_id=reference_id)
        if owner is None or owner.pk != order.pk:
            raise MessagingError(
                f"{reference_id} is not a reference of order {order.reference_id}.",
                code="reference_not_of_order",
            )
    payload = order_status_payload(
        reference_id=reference_id,
        status=status,
        description=description,
        components=_components(spec, order=order),
        **spec.payload_args(to=to, ref=reference_id),
    )
    return MessageDraft(kind=spec.kind, recipient=to, payload=payload, order=order)


def _coupon_code_draft(target, spec: BatchSpec, *, coupon):
    phone, code = target
    if isinstance(code, CouponError):  # the pool ran out before this recipient
        raise code
    payload = coupon_code_payload(
        code=code,
        components=_components(spec, coupon=coupon, code=code),
        **spec.payload_args(to=phone, ref=code),
    )
    return MessageDraft(kind=spec.kind, recipient=phone, payload=payload, coupon=coupon)


def _components(spec: BatchSpec, **records) -> list | None:
    """The registered template's header and body for one message; None when unregistered."""
    if spec.template is None:
        return None
    return template_components_build(template=spec.template, **records)


# The services.


def order_details_send(
    *,
    orders,
    header_image_url: str = "",
    user=None,
    source: str = EventSource.ADMIN,
    dry_run: bool = False,
    batch: SendBatch | None = None,
    **options,
) -> QueueResult:
    """Queue a checkout (order details) message to each order's customer. Each message gets a
    fresh reference_id (the order's own, then -2, -3 ...). `options`: template_name, language,
    batch_name, ref, ref1, ref2, wa_source (empty: the defaults)."""
    return batch_queue(
        spec=batch_spec(kind=MessageKind.ORDER_DETAILS, batch=batch, **options),
        targets=_order_targets(orders),
        build=partial(
            _order_details_draft, header_image_url=header_image_url, source=source, user=user
        ),
        user=user,
        dry_run=dry_run,
        batch=batch,
    )


def order_status_send(
    *,
    orders,
    status: str,
    description: str = "",
    user=None,
    source: str = EventSource.ADMIN,
    dry_run: bool = False,
    batch: SendBatch | None = None,
    move: bool = True,
    references: dict | None = None,
    **options,
) -> QueueResult:
    """Move each order to `status` and queue the order-status message telling its customer.
    An order whose message cannot be built, or that cannot make the move, is refused and left
    as it was. `move=False`: only tell the customer (the caller made the move itself, e.g. a
    captured payment). The message carries the order's latest reference (its own, or the last
    resend's), or the one `references` gives for the order's id (e.g. the reference a payment
    was made on; one that is not the order's is refused). `options` as for
    order_details_send."""
    description = (description or "").strip()
    order_status_check(status=status, description=description)
    spec = batch_spec(kind=MessageKind.ORDER_STATUS, detail=status, batch=batch, **options)
    with batch_transaction(dry_run=dry_run):
        orders = list(orders)
        drafts, refused = drafts_build(
            spec=spec,
            targets=_order_targets(orders),
            build=partial(
                _order_status_draft,
                status=status,
                description=description,
                references=references,
            ),
        )
        if not move:  # the caller moved the orders already (a payment, in its transaction)
            return batch_write(
                spec=spec, drafts=drafts, refused=refused, user=user, dry_run=dry_run, batch=batch
            )
        moved = []
        for draft in drafts:  # the move is this service's business, not the queueing step's
            try:
                order_status_change(
                    order=draft.order, status=status, source=source, actor=user, note=spec.name
                )
            except REFUSALS as exc:
                refused.append(Refusal(draft.order.reference_id, exc.code, exc.message))
                continue
            moved.append(draft)
        position = {order.reference_id: index for index, order in enumerate(orders)}
        refused.sort(key=lambda refusal: position[refusal.target])  # as the operator listed them
        return batch_write(
            spec=spec, drafts=moved, refused=refused, user=user, dry_run=dry_run, batch=batch
        )


def coupon_code_send(
    *, coupon, recipients, user=None, dry_run: bool = False, **options
) -> QueueResult:
    """Queue the coupon-code message to each recipient (raw phone strings; invalid and repeated
    ones are refused). A coupon with a code pool sends each recipient its own assigned code.
    `options` as for order_details_send."""
    if refusal := coupon_send_check(coupon=coupon):  # inactive, expired, code too long
        raise MessagingError(refusal.message, code=refusal.code)
    phones, refused = recipients_validate(recipients)
    return batch_queue(
        spec=batch_spec(kind=MessageKind.COUPON_CODE, detail=coupon.code, **options),
        targets=_coupon_targets(coupon, phones),
        build=partial(_coupon_code_draft, coupon=coupon),
        refused=refused,
        user=user,
        dry_run=dry_run,
    )


def _order_targets(orders):
    return ((order.reference_id, order) for order in orders)


def _coupon_targets(coupon, phones: list[str]):
    """(phone, (phone, its code or why it has none)), read inside the batch's transaction. A
    coupon without a pool sends its own code to all (asked of the coupon engine only with a
    pool: it would read the ten thousand numbers again, which costs as much as the rest of the
    campaign). With a pool, the codes come in a few queries; when the pool cannot cover
    everyone, one by one until it runs out, the rest refused."""
    if not CouponPool.objects.filter(coupon=coupon).exists():
        codes = dict.fromkeys(phones, coupon.code)
    else:
        try:
            codes = pool_codes_assign(coupon=coupon, phones=phones)
        except CouponError as exc:
            if exc.code != "pool_exhausted":
                raise MessagingError(exc.message, code=exc.code) from exc
            codes = {phone: _pool_code_or_refusal(coupon, phone) for phone in phones}
    for phone in phones:
        yield phone, (phone, codes[phone])


def _pool_code_or_refusal(coupon, phone):
    try:
        return pool_code_assign(coupon=coupon, phone=phone)
    except CouponError as error:
        return error


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


# Big order selections: the batch now, its messages written by a worker.

_ORDER_SENDERS = {
    MessageKind.ORDER_DETAILS: order_details_send,
    MessageKind.ORDER_STATUS: order_status_send,
}


def orders_send_later(*, kind: str, orders, user=None, **options) -> SendBatch:
    """For big order selections: create the batch now and let a worker prepare its messages
    (`orders_batch_prepare`), so the admin answers at once. Options are those of
    order_details_send / order_status_send; whole-request problems are refused here."""
    detail = ""
    if kind == MessageKind.ORDER_STATUS:
        order_status_check(status=options["status"], description=options.get("description", ""))
        detail = options["status"]
    spec = batch_spec(
        kind=kind,
        detail=detail,
        template_name=options.get("template_name", ""),
        language=options.get("language", ""),
        batch_name=options.get("batch_name", ""),
    )
    ids = list(orders.order_by("pk").values_list("pk", flat=True))
    batch = batch_create(spec=spec, user=user, requested=len(ids))
    user_id = batch.created_by_id
    transaction.on_commit(
        lambda: publish(BATCH_PREPARE, batch.pk, ids, options, user_id), robust=True
    )
    return batch


def orders_batch_prepare(*, batch_id: int, order_ids, options: dict, user=None) -> QueueResult:
    """Write the messages of a batch created by `orders_send_later` (once: a second delivery of
    the task finds it prepared)."""
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
        send = _ORDER_SENDERS[batch.kind]
        try:
            return send(orders=orders, batch=batch, user=user, source=EventSource.ADMIN, **options)
        except REFUSALS as exc:
            refusal = Refusal("all", exc.code, exc.message)
            batch.refused = [asdict(refusal)]
            batch.prepared_at = timezone.now()
            batch.save(update_fields=["refused", "prepared_at"])
            return QueueResult(batch=batch, refused=[refusal])
