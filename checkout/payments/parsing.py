"""A Kaleyra payment update (an InboundEvent's `data`, the reference digest's shape) read into a
PaymentUpdate. Anything we cannot read raises PaymentUpdateInvalid naming the field."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from common.errors import DomainError
from messaging.callbacks.fields import CallbackParseError, object_read, text_read, timestamp_read

from ..models import TransactionStatus

# The payment's own status (`status`) when the transaction carries none.
_PAYMENT_STATUSES = {
    "captured": TransactionStatus.SUCCESS,
    "pending": TransactionStatus.PENDING,
    "failed": TransactionStatus.FAILED,
}


class PaymentUpdateInvalid(DomainError):
    code = "payment_update_invalid"
    default_message = "The payment update cannot be read."


@dataclass(frozen=True)
class RefundUpdate:
    refund_id: str
    amount: int  # minor units at offset 100
    status: str
    created_at: datetime | None
    updated_at: datetime | None


@dataclass(frozen=True)
class PaymentUpdate:
    reference_id: str
    provider_status: str
    gateway: str
    transaction_id: str
    status: str  # a TransactionStatus
    method: str
    amount: int  # minor units at offset 100
    currency: str
    error_code: str
    error_reason: str
    created_at: datetime | None
    updated_at: datetime | None
    refunds: tuple[RefundUpdate, ...]


def payment_update_parse(*, data) -> PaymentUpdate:
    try:
        return _parse(data)
    except CallbackParseError as exc:
        raise PaymentUpdateInvalid(str(exc)) from None


def _parse(data) -> PaymentUpdate:
    data = object_read(data, "The payment update")
    payment = object_read(data.get("payment"), "payment")
    transaction = object_read(payment.get("transaction"), "payment.transaction")
    provider_status = text_read(data.get("status"), 32).lower()
    status = text_read(transaction.get("status"), 16).lower()
    if not status:
        status = _PAYMENT_STATUSES.get(provider_status, "")
    if status not in TransactionStatus.values:
        raise PaymentUpdateInvalid(
            f"payment.transaction.status '{status}' is not one of "
            f"{', '.join(TransactionStatus.values)}."
        )
    error = transaction.get("error")
    error = object_read(error, "payment.transaction.error") if error else {}
    amount_source = transaction if "amount" in transaction else payment
    return PaymentUpdate(
        reference_id=_required(payment.get("reference_id"), "payment.reference_id", 35),
        provider_status=provider_status,
        gateway=_required(transaction.get("type"), "payment.transaction.type", 32).lower(),
        transaction_id=_required(transaction.get("id"), "payment.transaction.id", 128),
        status=status,
        method=text_read(transaction.get("method_type"), 32).lower(),
        amount=_amount(amount_source.get("amount"), "payment.transaction.amount"),
        currency=_required(
            transaction.get("currency") or payment.get("currency"), "payment.currency", 3
        ).upper(),
        error_code=text_read(error.get("code"), 64),
        error_reason=text_read(error.get("reason"), 255),
        created_at=timestamp_read(
            transaction.get("created_timestamp"), "payment.transaction.created_timestamp"
        ),
        updated_at=timestamp_read(
            transaction.get("updated_timestamp"), "payment.transaction.updated_timestamp"
        ),
        refunds=tuple(_refunds(transaction.get("refunds"))),
    )


def _required(value, path: str, limit: int) -> str:
    text = text_read(value, None).strip()
    if not text:
        raise PaymentUpdateInvalid(f"{path} is missing.")
    if len(text) > limit:
        raise PaymentUpdateInvalid(f"{path} is longer than {limit} characters.")
    return text


def _amount(value, path: str) -> int:
    """{"offset": 100, "value": 450} -> 450 paise (any offset, brought to 100)."""
    value = object_read(value, path)
    number, offset = value.get("value"), value.get("offset", 100)
    for part, name in ((number, "value"), (offset, "offset")):
        if isinstance(part, bool) or not isinstance(part, int):
            raise PaymentUpdateInvalid(f"{path}.{name} must be a whole number.")
    if offset <= 0 or number < 0:
        raise PaymentUpdateInvalid(f"{path} must be a positive amount with a positive offset.")
    minor = Decimal(number) * 100 / offset
    if minor != minor.to_integral_value():
        raise PaymentUpdateInvalid(f"{path} is not a whole number of paise.")
    return int(minor)


def _refunds(refunds):
    if refunds in (None, ""):
        return
    if not isinstance(refunds, list):
        raise PaymentUpdateInvalid("payment.transaction.refunds must be a list.")
    for index, refund in enumerate(refunds):
        path = f"payment.transaction.refunds[{index}]"
        refund = object_read(refund, path)
        yield RefundUpdate(
            refund_id=_required(refund.get("id"), f"{path}.id", 128),
            amount=_amount(refund.get("amount"), f"{path}.amount"),
            status=text_read(refund.get("status"), 32).lower(),
            created_at=timestamp_read(refund.get("created_timestamp"), f"{path}.created_timestamp"),
            updated_at=timestamp_read(refund.get("updated_timestamp"), f"{path}.updated_timestamp"),
        )
