"""The order app's fixed vocabularies (statuses, types, payment methods, history kinds and
sources), apart from the models so that displays (orders/history.py) can read them without
importing the models."""

from django.db import models


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    PARTIALLY_SHIPPED = "partially_shipped", "Partially shipped"
    SHIPPED = "shipped", "Shipped"
    COMPLETED = "completed", "Completed"
    CANCELED = "canceled", "Canceled"


class OrderType(models.TextChoices):
    PHYSICAL = "physical-goods", "Physical goods"
    DIGITAL = "digital-goods", "Digital goods"


class PaymentMethod(models.TextChoices):
    RAZORPAY = "razorpay", "Razorpay (payment gateway)"
    PAYU = "payu", "PayU (payment gateway)"
    BILLDESK = "billdesk", "BillDesk (payment gateway)"
    ZAAKPAY = "zaakpay", "Zaakpay (payment gateway)"
    UPI = "upi", "UPI intent"


class EventSource(models.TextChoices):
    ADMIN = "admin", "Admin user"
    CHECKOUT = "checkout", "WhatsApp checkout"
    COMMAND = "command", "Command"
    API = "api", "API"
    SYSTEM = "system", "System"
    KALEYRA = "kaleyra", "Kaleyra"


class EventKind(models.TextChoices):
    CREATED = "created", "Created"
    STATUS = "status", "Status"
    COUPON = "coupon", "Coupon"
    SHIPPING_ADDRESS = "shipping_address", "Shipping address"
    SHIPPING_COST = "shipping_cost", "Shipping cost"
    AMOUNTS = "amounts", "Amounts"
    MESSAGE = "message", "Message"
    PAYMENT = "payment", "Payment"
