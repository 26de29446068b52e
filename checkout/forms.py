from django import forms

from orders.forms import RupeeField

from .models import ShippingRule


class ShippingRuleAdminForm(forms.ModelForm):
    cost = RupeeField(label="Shipping cost")
    free_above = RupeeField(
        label="Free from subtotal",
        required=False,
        help_text="In rupees: free shipping when the items' subtotal is at least this; "
        "empty: never free.",
    )

    class Meta:
        model = ShippingRule
        fields = ["name", "pincode_prefix", "cost", "free_above", "is_active"]
