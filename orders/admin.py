from django.contrib import admin
from django.db import transaction
from django.utils.html import format_html

from common.admin import ReadOnlyInline, ReadOnlyModelAdmin
from common.changelists import FastChangeListMixin

from .admin_import import OrderImportAdminMixin
from .forms import OrderAdminForm, OrderItemAdminForm
from .history import order_event_describe
from .models import EventSource, Order, OrderAddress, OrderEvent, OrderItem, OrderReference
from .money import format_money
from .services import order_save


class OrderItemInline(admin.StackedInline):
    model = OrderItem
    form = OrderItemAdminForm
    extra = 0
    min_num = 1
    fields = (
        ("name", "retailer_id"),
        ("quantity", "amount", "sale_amount"),
        ("country_of_origin", "importer_name"),
        ("importer_address_line1", "importer_address_line2"),
        ("importer_city", "importer_zone_code", "importer_postal_code", "importer_country_code"),
    )


class OrderAddressInline(admin.StackedInline):
    model = OrderAddress
    extra = 0
    fields = (
        ("name", "phone_number"),
        "address",
        ("city", "state", "in_pin_code"),
        ("house_number", "tower_number", "floor_number"),
        ("building_name", "landmark_area"),
    )


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    verbose_name_plural = "history"
    fields = readonly_fields = ("created_at", "description", "source", "actor", "note")

    @admin.display(description="What happened")
    def description(self, event):
        return order_event_describe(event=event)


class OrderReferenceInline(ReadOnlyInline):
    model = OrderReference
    verbose_name_plural = "checkout references issued"
    fields = readonly_fields = ("reference_id", "sequence", "created_at")


@admin.register(Order)
class OrderAdmin(OrderImportAdminMixin, FastChangeListMixin, admin.ModelAdmin):
    form = OrderAdminForm
    change_list_template = "admin/orders/order/change_list.html"
    # The send actions are contributed by messaging (messaging.admin_actions).
    actions = []
    list_display = (
        "reference_id",
        "customer_name",
        "customer_phone",
        "status",
        "type",
        "total_display",
        "coupon_code",
        "created_at",
    )
    list_filter = ("status", "type", "payment_method", ("created_at", admin.DateFieldListFilter))
    # Each search goes through an index (common/changelists.py): a phone number in any form
    # exactly, part of a reference, name or phone number by trigram.
    search_fields = search_partial_fields = ("reference_id", "customer_name", "customer_phone")
    search_phone_fields = ("customer_phone",)
    search_help_text = (
        "A phone number in any form (98123 45601, +91 98123 45601, 098123-45601), or part of a "
        "reference, customer name or phone number (at least 3 characters)."
    )
    # Sorting by another column would sort the whole table; no date hierarchy (its links read
    # every row's date; the "created at" filter offers the same periods).
    sortable_by = ("reference_id", "created_at")
    readonly_fields = (
        "subtotal_display",
        "coupon_display",
        "total_display",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("reference_id", "status", "type", "expires_at")}),
        ("Customer", {"fields": ("customer_name", "customer_phone", "selected_address")}),
        ("Payment", {"fields": ("payment_method", "payment_configuration")}),
        (
            "Amounts",
            {
                "fields": (
                    "subtotal_display",
                    "shipping",
                    ("tax", "tax_description"),
                    ("discount", "discount_description"),
                    "coupon_display",
                    "total_display",
                )
            },
        ),
        ("Message", {"fields": ("header_image_url",)}),
        ("Timestamps", {"fields": ("created_at", "updated_at")}),
    )
    inlines = (OrderItemInline, OrderAddressInline, OrderReferenceInline, OrderEventInline)

    @admin.display(description="Subtotal")
    def subtotal_display(self, obj):
        return format_money(obj.totals.subtotal) if obj.pk else "-"

    @admin.display(description="Total")
    def total_display(self, obj):
        return format_money(obj.totals.total) if obj.pk else "-"

    @admin.display(description="Coupon")
    def coupon_display(self, obj):
        if not obj.coupon_code:
            return "-"
        return format_html("{} ({})", obj.coupon_code, format_money(-obj.coupon_discount))

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("items")

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        # The address is picked from this order's own addresses, edited in the inline below.
        widget = form.base_fields["selected_address"].widget
        widget.can_add_related = widget.can_change_related = widget.can_delete_related = False
        widget.can_view_related = False
        return form

    def save_model(self, request, obj, form, change):
        order_save(order=obj, source=EventSource.ADMIN, actor=request.user)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The order and its items are one change: all saved, or nothing.
        with transaction.atomic():
            return super().changeform_view(request, object_id, form_url, extra_context)


@admin.register(OrderEvent)
class OrderEventAdmin(FastChangeListMixin, ReadOnlyModelAdmin):
    list_display = ("created_at", "order", "description", "source", "actor")
    fields = readonly_fields = ("created_at", "order", "description", "source", "actor", "note")
    list_filter = ("kind", "source", ("created_at", admin.DateFieldListFilter))
    search_fields = search_partial_fields = ("order__reference_id",)
    search_phone_fields = ("order__customer_phone",)
    search_help_text = (
        "The order's customer phone number in any form, or part of its reference "
        "(at least 3 characters)."
    )
    sortable_by = ("created_at",)
    list_select_related = ("order", "actor")

    @admin.display(description="What happened")
    def description(self, event):
        return order_event_describe(event=event)


@admin.register(OrderReference)
class OrderReferenceAdmin(admin.ModelAdmin):
    list_display = ("reference_id", "order", "sequence", "created_at")
    search_fields = ("reference_id", "order__reference_id")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(OrderItem)
class OrderItemAdmin(admin.ModelAdmin):
    form = OrderItemAdminForm
    list_display = ("name", "order", "quantity", "amount_display")
    search_fields = ("name", "order__reference_id", "retailer_id")
    list_select_related = ("order",)

    @admin.display(description="Price")
    def amount_display(self, obj):
        return format_money(obj.unit_price)


@admin.register(OrderAddress)
class OrderAddressAdmin(admin.ModelAdmin):
    list_display = ("name", "order", "city", "in_pin_code")
    search_fields = ("name", "order__reference_id", "in_pin_code")
    list_select_related = ("order",)
