from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat

from common.forms import CsvFileField, as_validation_error

from .errors import OrderError
from .models import Order, OrderItem
from .money import format_rupees, parse_rupees
from .services import order_status_check_move


class RupeeInput(forms.TextInput):
    def format_value(self, value):
        if isinstance(value, int):
            return format_rupees(value)
        return super().format_value(value)


class RupeeField(forms.CharField):
    """Shown and entered as rupees (1,650.00); cleaned to integer paise."""

    widget = RupeeInput

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("help_text", "In rupees, e.g. 1,650.00")
        kwargs.pop("max_length", None)
        super().__init__(*args, **kwargs)

    def prepare_value(self, value):
        return format_rupees(value) if isinstance(value, int) else value

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        try:
            return parse_rupees(value)
        except ValueError as error:
            raise ValidationError(str(error), code="invalid_amount") from None

    def has_changed(self, initial, data):
        try:
            return self.to_python(data) != initial
        except ValidationError:
            return True


class OrderAdminForm(forms.ModelForm):
    shipping = RupeeField(label="Shipping cost")
    tax = RupeeField()
    discount = RupeeField(label="Order discount")
    header_image_url = forms.URLField(
        max_length=1024, required=False, assume_scheme="https", label="Header image URL"
    )

    class Meta:
        model = Order
        fields = "__all__"  # noqa: DJ007 - the admin picks fields via its fieldsets

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "selected_address" in self.fields:
            addresses = self.instance.addresses.all() if self.instance.pk else []
            self.fields["selected_address"].queryset = (
                self.instance.addresses.all()
                if self.instance.pk
                else self.fields["selected_address"].queryset.none()
            )
            self.fields["selected_address"].help_text = (
                "One of this order's addresses below." if addresses else "Add an address first."
            )

    def clean_status(self):
        status = self.cleaned_data["status"]
        if self.instance.pk and status != self.instance.status:
            try:
                order_status_check_move(current=self.instance.status, new=status)
            except OrderError as error:
                raise as_validation_error(error) from None
        return status


class OrderItemAdminForm(forms.ModelForm):
    amount = RupeeField(label="Price")
    sale_amount = RupeeField(label="Sale price", required=False)

    class Meta:
        model = OrderItem
        fields = "__all__"  # noqa: DJ007 - the admin picks fields via its fieldsets


class OrderImportForm(forms.Form):
    """The CSV file of the order import; its limits are the settings ORDER_IMPORT_MAX_BYTES
    (checked here) and ORDER_IMPORT_MAX_ROWS (counted by orders.csv_import)."""

    file = CsvFileField(label="CSV file")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["file"]
        field.max_bytes = settings.ORDER_IMPORT_MAX_BYTES
        field.max_lines = None
        field.help_text = (
            f"CSV, UTF-8 (a spreadsheet's 'CSV UTF-8'): one row per item, at most "
            f"{settings.ORDER_IMPORT_MAX_ROWS:,} rows and "
            f"{filesizeformat(settings.ORDER_IMPORT_MAX_BYTES)}. Nothing is stored until you "
            "confirm the preview."
        )
