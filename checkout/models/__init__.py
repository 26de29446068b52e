from .payments import Payment, PaymentRefund, PaymentStatus, TransactionStatus
from .shipping import ShippingRule, validate_pincode_prefix

__all__ = [
    "Payment",
    "PaymentRefund",
    "PaymentStatus",
    "ShippingRule",
    "TransactionStatus",
    "validate_pincode_prefix",
]
