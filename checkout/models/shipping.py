from django.core.validators import RegexValidator
from django.db import models

validate_pincode_prefix = RegexValidator(
    regex=r"^[1-9][0-9]{0,5}\Z",
    message="Enter 1 to 6 digits of a PIN code (6 digits = that exact PIN code), "
    "or leave it empty for the default rule.",
    code="invalid_pincode_prefix",
)


class ShippingRule(models.Model):
    """What shipping to a PIN code costs. The most specific active rule wins: the exact PIN code,
    then the longest prefix, then the default rule (empty prefix). No matching rule: not served."""

    name = models.CharField(max_length=100, help_text="For you, e.g. 'Mumbai city'.")
    pincode_prefix = models.CharField(
        max_length=6,
        unique=True,
        blank=True,
        validators=[validate_pincode_prefix],
        help_text="1-6 digits: PIN codes starting with them (6 digits: that PIN code only). "
        "Empty: the default rule for every other PIN code (at most one).",
    )
    cost = models.PositiveBigIntegerField(help_text="Shipping cost (paise).")
    free_above = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        help_text="Free shipping when the items' subtotal is at least this (paise); "
        "empty: never free.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pincode_prefix"]

    def __str__(self):
        return f"{self.name} ({self.pincode_prefix or 'default'})"

    def cost_for(self, *, subtotal: int) -> int:
        if self.free_above is not None and subtotal >= self.free_above:
            return 0
        return self.cost
