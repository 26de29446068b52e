from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


def normalize_code(code: str) -> str:
    """Codes are matched case-insensitively with surrounding spaces trimmed; stored upper-case."""
    return (code or "").strip().upper()


class Coupon(models.Model):
    class DiscountType(models.TextChoices):
        PERCENTAGE = "percentage", "Percentage of the order"
        FIXED = "fixed", "Fixed amount"

    code = models.CharField(max_length=64, unique=True)
    public_id = models.SlugField(
        max_length=64,
        unique=True,
        help_text="The coupon's id in WhatsApp's coupon list (get_coupons).",
    )
    description = models.CharField(
        max_length=100, help_text="Shown to the customer in WhatsApp's coupon list."
    )
    discount_type = models.CharField(max_length=16, choices=DiscountType.choices)
    percent_off = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="For percentage coupons, e.g. 10 for 10 %.",
    )
    amount_off = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="For fixed coupons (paise)."
    )
    max_discount = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Cap on a percentage coupon's discount (paise)."
    )
    min_order_value = models.PositiveBigIntegerField(
        default=0, help_text="Order value (before the coupon) needed to use it (paise)."
    )
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    usage_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Uses in total; empty for no limit."
    )
    per_customer_limit = models.PositiveIntegerField(
        null=True, blank=True, default=1, help_text="Uses per customer phone; empty for no limit."
    )
    is_personal = models.BooleanField(
        default=False, help_text="Only the listed phone numbers may use it."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.code

    def save(self, *args, **kwargs):
        self.code = normalize_code(self.code)
        super().save(*args, **kwargs)

    def clean(self):
        self.code = normalize_code(self.code)
        errors = {}
        if self.discount_type == self.DiscountType.PERCENTAGE:
            if self.percent_off is None:
                errors["percent_off"] = "A percentage coupon needs its percentage."
            if self.amount_off is not None:
                errors["amount_off"] = "A percentage coupon has no fixed amount."
        elif self.discount_type == self.DiscountType.FIXED:
            if self.amount_off is None:
                errors["amount_off"] = "A fixed coupon needs its amount."
            if self.percent_off is not None:
                errors["percent_off"] = "A fixed coupon has no percentage."
            if self.max_discount is not None:
                errors["max_discount"] = "Only percentage coupons can have a cap."
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            errors["valid_until"] = "The end must be after the start."
        if errors:
            raise ValidationError(errors)
