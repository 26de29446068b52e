from .payments import Payment, PaymentCheck, PaymentRefund, PaymentStatus, TransactionStatus
from .shipping import ShippingRule, validate_pincode_prefix

__all__ = [
    "Payment",
    "PaymentCheck",
    "PaymentRefund",
    "PaymentStatus",
    "ShippingRule",
    "TransactionStatus",
    "validate_pincode_prefix",
]
