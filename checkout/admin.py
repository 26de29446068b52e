from django.contrib import admin

from orders.money import format_money

from .admin_payments import PaymentAdmin  # noqa: F401 - registers the payment pages
from .forms import ShippingRuleAdminForm
from .models import ShippingRule


@admin.register(ShippingRule)
class ShippingRuleAdmin(admin.ModelAdmin):
    form = ShippingRuleAdminForm
    list_display = ["name", "pincode_label", "cost_rupees", "free_above_rupees", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "pincode_prefix"]

    @admin.display(description="PIN codes", ordering="pincode_prefix")
    def pincode_label(self, rule):
        if not rule.pincode_prefix:
            return "every other PIN code (default)"
        if len(rule.pincode_prefix) == 6:
            return rule.pincode_prefix
        return f"{rule.pincode_prefix}…"

    @admin.display(description="Cost", ordering="cost")
    def cost_rupees(self, rule):
        return format_money(rule.cost)

    @admin.display(description="Free from subtotal", ordering="free_above")
    def free_above_rupees(self, rule):
        return format_money(rule.free_above) if rule.free_above is not None else "never"
