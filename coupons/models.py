from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from phonenumber_field.modelfields import PhoneNumberField

# WhatsApp's copy-code button (coupon-code templates) takes codes of at most 15 characters.
COPY_CODE_MAX_LENGTH = 15


def copy_code_too_long(code: str) -> str | None:
    """Why `code` cannot go in a copy-code button, or None when it can."""
    if len(code or "") > COPY_CODE_MAX_LENGTH:
        return (
            f"'{code}' is {len(code)} characters long; WhatsApp's copy-code button takes at "
            f"most {COPY_CODE_MAX_LENGTH}."
        )
    return None


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
    times_used = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text=(
            "Live count of reserved and final redemptions while the coupon has a usage limit "
            "(kept by coupons.services; recounted when a limit is set)."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(discount_type__in=["percentage", "fixed"]),
                name="coupon_discount_type_valid",
            ),
            # The database itself refuses a redemption past the usage limit.
            models.CheckConstraint(
                condition=models.Q(usage_limit__isnull=True)
                | models.Q(times_used__lte=models.F("usage_limit")),
                name="coupon_times_used_within_limit",
            ),
        ]

    def __str__(self):
        return self.code

    def save(self, *args, **kwargs):
        self.code = normalize_code(self.code)
        if self._state.adding or kwargs.get("update_fields") is not None:
            super().save(*args, **kwargs)
            return
        # times_used is kept by the coupon services' conditional UPDATEs: an edit made on
        # an instance loaded earlier must not write back its stale count.
        kwargs["update_fields"] = [
            field.name
            for field in self._meta.concrete_fields
            if not field.primary_key and field.name != "times_used"
        ]
        with transaction.atomic():
            # Coupons without a usage limit are not counted. FOR UPDATE waits for the orders
            # applying or releasing this coupon right now (they hold a key-share lock on it),
            # so a limit set where there was none starts from the live count, theirs included.
            stored_limit = (
                Coupon.objects.select_for_update()
                .filter(pk=self.pk)
                .values_list("usage_limit", flat=True)
                .first()
            )
            if self.usage_limit is not None and stored_limit is None:
                self.times_used = self.live_uses()
                kwargs["update_fields"].append("times_used")
            super().save(*args, **kwargs)

    def live_uses(self) -> int:
        """Reserved and final redemptions, counted (times_used is kept only while the coupon
        has a usage limit)."""
        if self.pk is None:
            return 0
        return self.redemptions.filter(ACTIVE_REDEMPTION).count()

    def _code_unchanged(self) -> bool:
        """Saved before with this very code."""
        if self.pk is None:
            return False
        stored = Coupon.objects.filter(pk=self.pk).values_list("code", flat=True).first()
        return stored == self.code

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
        if self.code and PoolCode.objects.filter(code=self.code).exists():
            errors["code"] = "This code is already one of a pool's codes."
        elif (problem := copy_code_too_long(self.code)) and not self._code_unchanged():
            # Any coupon can be sent in a coupon-code message. Codes stored before this rule
            # (checkout-only coupons) stay as they are; the send service refuses them.
            errors["code"] = f"{problem} Choose a shorter code."
        uses = self.live_uses() if self.usage_limit is not None else 0
        if self.usage_limit is not None and self.usage_limit < uses:
            errors["usage_limit"] = (
                f"This coupon is already used {uses} times; the limit cannot be lower than that."
            )
        if errors:
            raise ValidationError(errors)


class CouponPhone(models.Model):
    """A phone number allowed to use a personal coupon."""

    coupon = models.ForeignKey(Coupon, on_delete=models.CASCADE, related_name="phones")
    phone = PhoneNumberField(help_text="E.164, e.g. +919000090000.")

    class Meta:
        ordering = ["id"]
        verbose_name = "personal phone number"
        constraints = [
            models.UniqueConstraint(fields=["coupon", "phone"], name="coupon_phone_unique"),
        ]

    def __str__(self):
        return f"{self.coupon} for {self.phone}"


class CouponPool(models.Model):
    """Single-use codes of one coupon rule, handed out one per customer phone."""

    coupon = models.OneToOneField(Coupon, on_delete=models.CASCADE, related_name="pool")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["coupon__code"]
        verbose_name = "code pool"

    def __str__(self):
        return f"Pool of {self.coupon}"


class PoolCodeStatus(models.TextChoices):
    """How an exported pool code stands (derived, not stored)."""

    FREE = "free", "Free"
    ASSIGNED = "assigned", "Assigned"
    RESERVED = "reserved", "Reserved by an open order"
    REDEEMED = "redeemed", "Redeemed"


class PoolCode(models.Model):
    """One single-use code; unique across every pool (and never equal to a coupon's own code)."""

    pool = models.ForeignKey(CouponPool, on_delete=models.CASCADE, related_name="codes")
    code = models.CharField(max_length=64, unique=True)
    phone = PhoneNumberField(null=True, blank=True, help_text="The customer it was sent to.")
    assigned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # A customer holds at most one code of a pool: they get the same one again.
            models.UniqueConstraint(
                fields=["pool", "phone"],
                condition=models.Q(phone__isnull=False),
                name="pool_code_one_per_phone",
            ),
            models.CheckConstraint(
                condition=models.Q(phone__isnull=True, assigned_at__isnull=True)
                | models.Q(phone__isnull=False, assigned_at__isnull=False),
                name="pool_code_assigned_with_time",
            ),
        ]
        indexes = [
            # The next free code of a pool is found without scanning the assigned ones.
            models.Index(
                fields=["pool", "id"],
                condition=models.Q(phone__isnull=True),
                name="pool_code_free_idx",
            ),
        ]

    def __str__(self):
        return self.code


class RedemptionStatus(models.TextChoices):
    RESERVED = "reserved", "Reserved (order open)"
    FINAL = "final", "Final (order completed)"
    RELEASED = "released", "Released"


LIVE_REDEMPTION_STATUSES = (RedemptionStatus.RESERVED, RedemptionStatus.FINAL)
ACTIVE_REDEMPTION = models.Q(status__in=LIVE_REDEMPTION_STATUSES)


class CouponRedemption(models.Model):
    """One use of a coupon by an order. Reserved and final redemptions count against the
    coupon's limits (Coupon.times_used); released ones do not."""

    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="redemptions")
    pool_code = models.ForeignKey(
        PoolCode, null=True, blank=True, on_delete=models.PROTECT, related_name="redemptions"
    )
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, related_name="coupon_redemptions"
    )
    phone = PhoneNumberField(help_text="The customer who applied it, E.164.")
    code = models.CharField(max_length=64, help_text="The code as applied.")
    discount = models.PositiveBigIntegerField(help_text="Discount given (paise).")
    status = models.CharField(
        max_length=10, choices=RedemptionStatus.choices, default=RedemptionStatus.RESERVED
    )
    reserved_at = models.DateTimeField(auto_now_add=True)
    finalized_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-reserved_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=RedemptionStatus.values),
                name="redemption_status_valid",
            ),
            # One order holds at most one live coupon.
            models.UniqueConstraint(
                fields=["order"], condition=ACTIVE_REDEMPTION, name="redemption_one_per_order"
            ),
            # A pool code is single-use.
            models.UniqueConstraint(
                fields=["pool_code"],
                condition=ACTIVE_REDEMPTION & models.Q(pool_code__isnull=False),
                name="redemption_pool_code_single_use",
            ),
        ]
        indexes = [
            # A customer's live uses of a coupon (the per-customer limit), read on every
            # get_coupons and apply: released redemptions, which pile up as customers switch
            # coupons, are not in it.
            models.Index(
                fields=["coupon", "phone"],
                condition=ACTIVE_REDEMPTION,
                name="redemption_live_per_customer",
            ),
        ]

    def __str__(self):
        return f"{self.code} on {self.order_id} ({self.status})"
