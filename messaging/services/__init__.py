"""Messaging services: queueing messages (batches) and sending them (tasks call these).

The public functions are re-exported here: `from messaging.services import coupon_code_send`.
"""

from ..matching import message_for_callback as message_mark_accepted
from .queueing import (
    QueueResult,
    Refusal,
    coupon_code_send,
    order_details_send,
    order_status_send,
    orders_batch_prepare,
    orders_send_later,
    recipients_parse,
)
from .recovery import messages_retry, messages_sweep
from .sending import messages_send, sending_pause_clear

__all__ = [
    "QueueResult",
    "Refusal",
    "coupon_code_send",
    "message_mark_accepted",
    "messages_retry",
    "messages_send",
    "messages_sweep",
    "order_details_send",
    "order_status_send",
    "orders_batch_prepare",
    "orders_send_later",
    "recipients_parse",
    "sending_pause_clear",
]
