from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from phonenumber_field.modelfields import PhoneNumberField

from common.models import AppendOnlyModel

from .choices import EventKind, EventSource, OrderStatus, OrderType, PaymentMethod
from .history import order_event_describe
from .validators import (
    REFERENCE_ID_MAX_LENGTH,
    validate_address_phone,
    validate_country_code,
    validate_pin_code,
    validate_reference_id,
    validate_zone_code,
)

CURRENCY = "INR"
CURRENCY_OFFSET = 100  # INR is sent to WhatsApp in paise: value x 100


class Order(models.Model):
    reference_id = models.CharField(
        max_length=REFERENCE_ID_MAX_LENGTH,
        unique=True,
        validators=[validate_reference_id],
        help_text="Case-sensitive; 1-35 English letters, digits, _ - .",
    )
    customer_name = models.CharField(max_length=256)
    customer_phone = PhoneNumberField(
        help_text="The customer's WhatsApp number; stored in E.164 (+91...)."
    )
    currency = models.CharField(max_length=3, default=CURRENCY, editable=False)
    offset = models.PositiveIntegerField(default=CURRENCY_OFFSET, editable=False)
    type = models.CharField(max_length=16, choices=OrderType.choices, default=OrderType.PHYSICAL)
    status = models.CharField(
        max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING, db_index=True
    )
    payment_method = models.CharField(
        max_length=16, choices=PaymentMethod.choices, default=PaymentMethod.RAZORPAY
    )
    payment_configuration = models.CharField(
        max_length=128,
        help_text="The payment configuration's name on the WhatsApp Business Account.",
    )
    discount = models.PositiveBigIntegerField(default=0, help_text="Order-level discount (paise).")
    discount_description = models.CharField(max_length=60, blank=True)
    tax = models.PositiveBigIntegerField(default=0, help_text="Tax (paise).")
    tax_description = models.CharField(max_length=60, blank=True)
    shipping = models.PositiveBigIntegerField(default=0, help_text="Shipping cost (paise).")
    selected_address = models.ForeignKey(
        "OrderAddress", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    coupon_code = models.CharField(max_length=64, blank=True, editable=False)
    coupon_discount = models.PositiveBigIntegerField(default=0, editable=False)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="When the Buy now button stops working (optional)."
    )
    header_image_url = models.URLField(max_length=1024, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # The admin (common/changelists.py): a phone number found exactly, and the ids of deep
        # pages read in the list's order from the index alone.
        indexes = [
            models.Index(fields=["customer_phone"], name="order_customer_phone"),
            models.Index(fields=["created_at", "id"], name="order_created_id"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=OrderStatus.values), name="order_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(type__in=OrderType.values), name="order_type_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(payment_method__in=PaymentMethod.values),
                name="order_payment_method_valid",
            ),
        ]

    def __str__(self):
        return self.reference_id

    @property
    def is_final(self):
        return self.status in FINAL_STATUSES

    @property
    def totals(self):
        from .money import order_totals

        return order_totals(self)


FINAL_STATUSES = frozenset({OrderStatus.COMPLETED, OrderStatus.CANCELED})


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    name = models.CharField(max_length=60)
    retailer_id = models.CharField(max_length=100, blank=True)
    quantity = models.PositiveIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    amount = models.PositiveBigIntegerField(help_text="Price per item (paise).")
    sale_amount = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Sale price per item (paise), when on sale."
    )
    country_of_origin = models.CharField(max_length=100)
    importer_name = models.CharField(max_length=200)
    importer_address_line1 = models.CharField(max_length=100)
    importer_address_line2 = models.CharField(max_length=100, blank=True)
    importer_city = models.CharField(max_length=120)
    importer_zone_code = models.CharField(max_length=2, validators=[validate_zone_code])
    importer_postal_code = models.CharField(max_length=6, validators=[validate_pin_code])
    importer_country_code = models.CharField(
        max_length=2, default="IN", validators=[validate_country_code]
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1, quantity__lte=100),
                name="order_item_quantity_1_100",
            ),
        ]

    def __str__(self):
        return f"{self.quantity} x {self.name}"

    def clean(self):
        if self.sale_amount is not None and self.amount is not None:
            if self.sale_amount > self.amount:
                raise ValidationError(
                    {"sale_amount": "The sale price cannot be higher than the price."}
                )

    @property
    def unit_price(self):
        return self.amount if self.sale_amount is None else self.sale_amount


ADDRESS_FIELDS = (
    "name",
    "phone_number",
    "address",
    "city",
    "state",
    "in_pin_code",
    "house_number",
    "tower_number",
    "building_name",
    "landmark_area",
    "floor_number",
)


class OrderAddress(models.Model):
    """A shipping address the customer is known to use, with WhatsApp's shipping_info limits."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="addresses")
    name = models.CharField(max_length=256)
    phone_number = models.CharField(max_length=12, validators=[validate_address_phone])
    address = models.CharField(max_length=512)
    city = models.CharField(max_length=100)
    state = models.CharField(max_length=100)
    in_pin_code = models.CharField(max_length=6, validators=[validate_pin_code])
    house_number = models.CharField(max_length=8, blank=True)
    tower_number = models.CharField(max_length=8, blank=True)
    building_name = models.CharField(max_length=128, blank=True)
    landmark_area = models.CharField(max_length=128, blank=True)
    floor_number = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "addresses"

    def __str__(self):
        return f"{self.name}, {self.address}, {self.city} {self.in_pin_code}"

    def as_shipping_info(self):
        """WhatsApp's address object: blank optional fields are left out."""
        return {field: getattr(self, field) for field in ADDRESS_FIELDS if getattr(self, field)}


class OrderReference(models.Model):
    """A reference_id issued for one checkout message of an order (resends get -2, -3 ...)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="references")
    reference_id = models.CharField(
        max_length=REFERENCE_ID_MAX_LENGTH, unique=True, validators=[validate_reference_id]
    )
    sequence = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sequence"]
        constraints = [
            models.UniqueConstraint(fields=["order", "sequence"], name="order_reference_seq"),
        ]

    def __str__(self):
        return self.reference_id


class OrderEvent(AppendOnlyModel):
    """Append-only history: one row for every change of status, coupon, address or cost."""

    append_only_label = "Order history events"

    Kind = EventKind  # the kinds live in orders/choices.py (the history display reads them)

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    field = models.CharField(max_length=64, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    source = models.CharField(max_length=16, choices=EventSource.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        # The admin's deep pages read the ids in the list's order from the index alone.
        indexes = [models.Index(fields=["created_at", "id"], name="orderevent_created_id")]

    def __str__(self):
        return order_event_describe(event=self)


class OrderImport(models.Model):
    """A CSV file of orders uploaded in the admin and previewed without errors, kept until it is
    confirmed (any web worker can take the confirmation: the file is in the database), then
    marked imported with what it created. Written by orders.csv_import only."""

    class Status(models.TextChoices):
        PREVIEWED = "previewed", "Previewed"
        IMPORTED = "imported", "Imported"

    file_name = models.CharField(max_length=255)
    content = models.TextField(help_text="The file's text, as uploaded.")
    checked = models.TextField(
        blank=True,
        editable=False,
        help_text="The orders as the preview's check read them (the intake's canonical forms, "
        "JSON): the confirmation creates these, checking again only what can change meanwhile.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PREVIEWED)
    rows = models.PositiveIntegerField(help_text="Order rows (items) in the file.")
    orders_new = models.PositiveIntegerField(help_text="Orders the preview would create.")
    orders_existing = models.PositiveIntegerField(
        help_text="Orders already stored with the same body (skipped)."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    imported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["previewed", "imported"]),
                name="order_import_status_valid",
            ),
        ]

    def __str__(self):
        return f"{self.file_name} ({self.get_status_display().lower()})"
