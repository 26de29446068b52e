"""The Kaleyra sandbox's WhatsApp Payments side (messaging.sandbox serves it; Payments is a
part of KaleyraSandbox).

POST /_sandbox/pay {"reference_id": "...", "status": "...", "amount": 165000, "currency": "INR",
"gateway": "razorpay", "refund_amount": 1000} makes the customer pay a reference. The sandbox then
posts Kaleyra's payment webhook (the reference README's "WhatsApp Payments Webhook" body) to its
callback URL, like its status callbacks. Statuses:

  captured        one update: captured / transaction success
  pending         one update: pending / transaction pending
  pending-captured  pending, then captured on the same transaction (a later updated_timestamp)
  failed          one update: failed / transaction failed, with the gateway's error
  wrong-amount    captured, for the amount plus ₹1 (the shop must flag it)
  refund          the reference's last captured transaction again, with a refund of
                  `refund_amount` (default: all of it) in `transaction.refunds`

`amount` (paise) and `phone` default to the total and recipient of the last order_details message
the sandbox accepted for that reference. Every update is kept per reference
(GET /_sandbox/payments) and answers Kaleyra's Get Payment Status API
(GET /v1/<sid>/wrapper/<phone_number_id>/payments/<configuration_id>/<reference_id>);
`"drop_webhook": true` keeps the updates but posts no webhook (a lost webhook).
"""

import time
import uuid
from dataclasses import dataclass
from urllib.parse import unquote

PAY_STATUSES = ("captured", "pending", "pending-captured", "failed", "wrong-amount", "refund")
GATEWAYS = ("razorpay", "payu", "billdesk", "zaakpay")


class PayError(ValueError):
    """A pay request the sandbox cannot carry out; the message says why."""


@dataclass
class PayRequest:
    reference_id: str
    status: str
    amount: int | None = None
    currency: str = "INR"
    gateway: str = "razorpay"
    refund_amount: int | None = None
    phone: str = ""
    drop_webhook: bool = False

    @classmethod
    def from_json(cls, data) -> "PayRequest":
        if not isinstance(data, dict):
            raise PayError("the body must be a JSON object")
        unknown = set(data) - {
            "reference_id",
            "status",
            "amount",
            "currency",
            "gateway",
            "refund_amount",
            "phone",
            "drop_webhook",
        }
        if unknown:
            raise PayError(f"unknown field(s): {', '.join(sorted(unknown))}")
        reference_id = data.get("reference_id")
        if not isinstance(reference_id, str) or not reference_id:
            raise PayError("reference_id is required (the order_details message's reference)")
        status = data.get("status", "captured")
        if status not in PAY_STATUSES:
            raise PayError(f"status {status!r} is not one of: {', '.join(PAY_STATUSES)}")
        for name in ("amount", "refund_amount"):
            value = data.get(name)
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or value <= 0
            ):
                raise PayError(f"{name} must be a positive whole number of paise")
        currency = data.get("currency", "INR")
        if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
            raise PayError("currency must be a three-letter code such as INR")
        gateway = data.get("gateway", "razorpay")
        if gateway not in GATEWAYS:
            raise PayError(f"gateway {gateway!r} is not one of: {', '.join(GATEWAYS)}")
        phone = data.get("phone", "")
        if not isinstance(phone, str) or (phone and not phone.lstrip("+").isdigit()):
            raise PayError("phone must be the customer's number in digits, e.g. 919800000001")
        drop_webhook = data.get("drop_webhook", False)
        if not isinstance(drop_webhook, bool):
            raise PayError("drop_webhook must be true or false")
        return cls(
            drop_webhook=drop_webhook,
            phone=phone.lstrip("+"),
            reference_id=reference_id,
            status=status,
            amount=data.get("amount"),
            currency=currency.upper(),
            gateway=gateway,
            refund_amount=data.get("refund_amount"),
        )


def _money(value: int) -> dict:
    return {"offset": 100, "value": value}


def order_details_sent(messages: list, reference_id: str) -> tuple[int, str] | None:
    """(total_amount, customer's digits) of the last accepted order_details message for
    `reference_id`, or None."""
    for record in reversed(messages):
        if record["kind"] != "order_details":
            continue
        for component in record["body"]["messaging_object"]["template"]["components"]:
            if component.get("sub_type") != "order_details":
                continue
            details = component["parameters"][0]["action"]["order_details"]
            if details["reference_id"] == reference_id:
                return details["total_amount"]["value"], record["to"].lstrip("+")
    return None


def payment_event(*, wamid, phone, reference_id, status, transaction) -> dict:
    """One payment update in Kaleyra's webhook shape (reference README, payments section)."""
    return {
        "id": wamid,
        "type": "payment",
        "status": status,
        "phone_number": phone,
        "payment": {
            "reference_id": reference_id,
            "amount": dict(transaction["amount"]),
            "currency": transaction["currency"],
            "receipt": "",
            "transaction": dict(transaction),
        },
    }


def payment_events(request: PayRequest, *, sent: tuple[int, str] | None, previous: list):
    """The payment updates to post for a pay request. `sent` is the reference's order_details
    (total, customer); `previous` the updates already posted for the reference."""
    expected, phone = sent if sent else (None, request.phone)
    now = int(time.time())
    wamid = f"wamid.SBXPAY{uuid.uuid4().hex}"
    if request.status == "refund":
        captured = [event for event in previous if event["status"] == "captured"]
        if not captured:
            raise PayError(f"{request.reference_id} has no captured payment to refund")
        last = captured[-1]
        transaction = dict(last["payment"]["transaction"])
        paid = transaction["amount"]["value"]
        refunded = sum(refund["amount"]["value"] for refund in transaction["refunds"] or [])
        amount = request.refund_amount or paid - refunded
        if amount <= 0 or refunded + amount > paid:
            raise PayError(
                f"refund of {amount} paise is more than the {paid - refunded} paise left to refund"
            )
        refund = {
            "id": f"rfnd_{uuid.uuid4().hex[:14]}",
            "amount": _money(amount),
            "created_timestamp": now,
            "updated_timestamp": now,
            "status": "success",
        }
        transaction["refunds"] = [*(transaction["refunds"] or []), refund]
        transaction["updated_timestamp"] = max(now, transaction["updated_timestamp"] + 1)
        event = payment_event(
            wamid=last["id"],
            phone=last["phone_number"],
            reference_id=request.reference_id,
            status="captured",
            transaction=transaction,
        )
        return [event]
    if request.refund_amount is not None:
        raise PayError("refund_amount goes with status refund only")
    amount = request.amount if request.amount is not None else expected
    if amount is None or not phone:
        raise PayError(
            f"no order_details message for {request.reference_id} reached the sandbox: "
            "give the amount (paise) and the phone"
        )
    if request.status == "wrong-amount":
        amount += 100
    transaction = {
        "id": f"order_{uuid.uuid4().hex[:14]}",
        "type": request.gateway,
        "status": "pending",
        "method_type": "upi",
        "amount": _money(amount),
        "currency": request.currency,
        "created_timestamp": now,
        "updated_timestamp": now,
        "refunds": None,
    }
    steps = {
        "captured": [("captured", "success")],
        "wrong-amount": [("captured", "success")],
        "pending": [("pending", "pending")],
        "pending-captured": [("pending", "pending"), ("captured", "success")],
        "failed": [("failed", "failed")],
    }[request.status]
    events = []
    for index, (status, transaction_status) in enumerate(steps):
        step = {**transaction, "status": transaction_status, "updated_timestamp": now + index}
        if transaction_status == "failed":
            step["error"] = {"code": "BAD_REQUEST_ERROR", "reason": "payment_failed"}
        events.append(
            payment_event(
                wamid=wamid,
                phone=phone,
                reference_id=request.reference_id,
                status=status,
                transaction=step,
            )
        )
    return events


class Payments:
    """KaleyraSandbox's payments: pay a reference, answer Get Payment Status."""

    def pay(self, data) -> list:
        """Carry out a pay request (see this module) and queue its payment
        updates for the callback URL; PayError says why it cannot."""
        if not self.config.callback_url:
            raise PayError("the sandbox has no callback_url to post the payment to")
        request = PayRequest.from_json(data)
        with self.lock:
            sent = order_details_sent(self.messages, request.reference_id)
            previous = self.payments.setdefault(request.reference_id, [])
            events = payment_events(request, sent=sent, previous=previous)
            previous.extend(events)
        if not request.drop_webhook:
            self._callback_queue.put(("payment", events))  # one worker: posted in order
        return events

    def payment_status(self, *, sid, headers, reference_id) -> tuple[int, dict]:
        """Get Payment Status: every update posted (or dropped) for the reference, in the
        payment webhook's shape, under `payments`; 404 when the reference was never paid."""
        if sid != self.config.sid or headers.get("api-key") != self.config.api_key:
            return 401, {"code": "WA401", "message": "Authentication failed"}
        with self.lock:
            events = list(self.payments.get(unquote(reference_id), []))
        if not events:
            return 404, {"code": "404", "message": f"No payment for {unquote(reference_id)}"}
        return 200, {"payments": events}
