from django.db.models.functions import Length

from .models import ShippingRule


def shipping_rule_for_pincode(*, pincode: str) -> ShippingRule | None:
    """The most specific active rule for a six-digit PIN code, or None (not served)."""
    prefixes = [pincode[:length] for length in range(len(pincode) + 1)]
    return (
        ShippingRule.objects.filter(is_active=True, pincode_prefix__in=prefixes)
        .order_by(Length("pincode_prefix").desc())
        .first()
    )
