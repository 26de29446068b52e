from django.db import models


class MessageKind(models.TextChoices):
    ORDER_DETAILS = "order_details", "Order details (checkout)"
    ORDER_STATUS = "order_status", "Order status"
    COUPON_CODE = "coupon_code", "Coupon code"


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    ACCEPTED = "accepted", "Accepted by Kaleyra"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    READ = "read", "Read"
    FAILED = "failed", "Failed"
    NOT_SENT = "not_sent", "Not sent"
    UNKNOWN = "unknown", "Unknown: check before resending"
