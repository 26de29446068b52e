from django import forms
from django.core.exceptions import ValidationError

from common.forms import CSV_MAX_BYTES, CSV_MAX_LINES, CsvFileField
from orders.forms import RupeeField

from .models import COPY_CODE_MAX_LENGTH, Coupon
from .services import POOL_CODE_MAX_LENGTH


class CouponAdminForm(forms.ModelForm):
    amount_off = RupeeField(
        required=False, label="Amount off", help_text="Fixed coupons, in rupees, e.g. 200.00"
    )
    max_discount = RupeeField(
        required=False,
        label="Discount cap",
        help_text="Percentage coupons only; in rupees. Empty: no cap.",
    )
    min_order_value = RupeeField(
        required=False,
        label="Minimum order value",
        help_text="Order total before the coupon, in rupees. Empty: no minimum.",
    )

    class Meta:
        model = Coupon
        fields = "__all__"  # noqa: DJ007 - the admin picks fields via its fieldsets
        help_texts = {
            "code": f"At most {COPY_CODE_MAX_LENGTH} characters: WhatsApp's copy-code button "
            "takes no longer code."
        }

    def clean_percent_off(self):
        percent = self.cleaned_data.get("percent_off")
        if percent is not None and not 0 < percent <= 100:
            raise ValidationError("A percentage is more than 0 and at most 100.")
        return percent

    def clean_min_order_value(self):
        return self.cleaned_data.get("min_order_value") or 0

    def _update_errors(self, errors):
        """Coupon.clean sees a field this form refused as empty ("A fixed coupon needs its
        amount" after "Use at most two decimals"): keep only the form's message for it."""
        if hasattr(errors, "error_dict"):
            errors = ValidationError(
                {f: e for f, e in errors.error_dict.items() if f not in self._errors}
            )
        super()._update_errors(errors)


class PoolGenerateForm(forms.Form):
    count = forms.IntegerField(min_value=1, max_value=100_000, initial=1000)
    prefix = forms.CharField(
        required=False, max_length=POOL_CODE_MAX_LENGTH, help_text="Optional, e.g. DIWALI-"
    )
    length = forms.IntegerField(
        min_value=4,
        max_value=POOL_CODE_MAX_LENGTH,
        initial=8,
        help_text=f"Random characters after the prefix; prefix + length at most "
        f"{POOL_CODE_MAX_LENGTH} (WhatsApp's copy-code button).",
    )


class PoolImportForm(forms.Form):
    file = CsvFileField(
        help_text="CSV, UTF-8: one code per row in the first column (a first row 'code' is a "
        f"header); at most {CSV_MAX_LINES:,} lines and {CSV_MAX_BYTES // 2**20} MB. Nothing is "
        "imported if any row is bad."
    )
