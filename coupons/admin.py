from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html

from common.admin import ReadOnlyModelAdmin
from orders.money import format_money

from .forms import CouponAdminForm, PoolGenerateForm, PoolImportForm
from .models import (
    Coupon,
    CouponPhone,
    CouponPool,
    CouponRedemption,
    PoolCode,
    RedemptionStatus,
)
from .selectors import pool_counts, pool_export_csv
from .services import pool_codes_generate, pool_codes_import_csv


class CouponPhoneInline(admin.TabularInline):
    model = CouponPhone
    extra = 1
    verbose_name_plural = "Personal phone numbers (only for personal coupons)"


class CouponRedemptionInline(admin.TabularInline):
    """Redemptions are written by the coupon services only: shown, never edited here."""

    model = CouponRedemption
    fields = ["order_link", "phone", "code", "discount_rupees", "status", "reserved_at"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False
    ordering = ["-reserved_at", "-id"]

    @admin.display(description="Order")
    def order_link(self, redemption):
        reference_id = redemption.order.reference_id
        try:
            url = reverse("admin:orders_order_change", args=[redemption.order_id])
        except NoReverseMatch:  # the orders admin is not registered
            return reference_id
        return format_html('<a href="{}">{}</a>', url, reference_id)

    @admin.display(description="Discount")
    def discount_rupees(self, redemption):
        return format_money(redemption.discount)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):
    form = CouponAdminForm
    # The send action is contributed by messaging (messaging.admin_actions).
    actions = []
    list_display = [
        "code",
        "description",
        "discount",
        "is_active",
        "valid_from",
        "valid_until",
        "usage",
        "is_personal",
        "has_pool",
    ]
    list_filter = ["is_active", "discount_type", "is_personal"]
    search_fields = ["code", "public_id", "description"]
    readonly_fields = ["usage", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["code", "public_id", "description", "is_active"]}),
        (
            "Discount",
            {"fields": ["discount_type", "percent_off", "max_discount", "amount_off"]},
        ),
        (
            "Rules",
            {
                "fields": [
                    "min_order_value",
                    "valid_from",
                    "valid_until",
                    "usage_limit",
                    "per_customer_limit",
                    "is_personal",
                ]
            },
        ),
        ("Usage", {"fields": ["usage", "created_at", "updated_at"]}),
    ]
    inlines = [CouponPhoneInline, CouponRedemptionInline]

    @admin.display(description="Discount")
    def discount(self, coupon):
        if coupon.discount_type == Coupon.DiscountType.PERCENTAGE:
            cap = f" (at most {format_money(coupon.max_discount)})" if coupon.max_discount else ""
            return f"{coupon.percent_off.normalize():f} %{cap}"
        return format_money(coupon.amount_off)

    @admin.display(description="Uses (live)", ordering="uses_count")
    def usage(self, coupon):
        limit = "no limit" if coupon.usage_limit is None else f"of {coupon.usage_limit}"
        uses = getattr(coupon, "uses_count", None)  # annotated by get_queryset
        return f"{coupon.live_uses() if uses is None else uses} {limit}"

    @admin.display(description="Pool", boolean=True)
    def has_pool(self, coupon):
        return hasattr(coupon, "pool")

    def get_queryset(self, request):
        # Counted here: times_used is kept only for coupons with a usage limit.
        live = Q(redemptions__status__in=[RedemptionStatus.RESERVED, RedemptionStatus.FINAL])
        return (
            super()
            .get_queryset(request)
            .select_related("pool")
            .annotate(uses_count=Count("redemptions", filter=live))
        )


@admin.register(CouponPool)
class CouponPoolAdmin(admin.ModelAdmin):
    list_display = ["coupon", "total", "assigned", "free", "redeemed", "import_link"]
    search_fields = ["coupon__code"]
    autocomplete_fields = ["coupon"]
    actions = ["generate_codes", "export_csv"]

    def get_readonly_fields(self, request, obj=None):
        return ["coupon", "counts"] if obj else []

    def get_fields(self, request, obj=None):
        return ["coupon", "counts"] if obj else ["coupon"]

    def _counts(self, pool):
        if not hasattr(pool, "_counts"):
            pool._counts = pool_counts(pool=pool)
        return pool._counts

    @admin.display(description="Codes")
    def total(self, pool):
        return self._counts(pool)["total"]

    @admin.display(description="Assigned")
    def assigned(self, pool):
        return self._counts(pool)["assigned"]

    @admin.display(description="Free")
    def free(self, pool):
        return self._counts(pool)["free"]

    @admin.display(description="Redeemed")
    def redeemed(self, pool):
        return self._counts(pool)["redeemed"]

    @admin.display(description="Codes")
    def counts(self, pool):
        counts = self._counts(pool)
        return (
            f"{counts['total']} codes: {counts['assigned']} assigned, {counts['free']} free, "
            f"{counts['redeemed']} redeemed"
        )

    @admin.display(description="Import")
    def import_link(self, pool):
        url = reverse("admin:coupons_couponpool_import", args=[pool.pk])
        return format_html('<a href="{}">Import CSV</a>', url)

    def get_urls(self):
        return [
            path(
                "<int:pk>/import/",
                self.admin_site.admin_view(self.import_view),
                name="coupons_couponpool_import",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "import_url": reverse("admin:coupons_couponpool_import", args=[object_id]),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description="Generate codes for the selected pools", permissions=["change"])
    def generate_codes(self, request, queryset):
        form = PoolGenerateForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            try:
                for pool in queryset:
                    pool_codes_generate(pool=pool, **form.cleaned_data)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(
                    request,
                    f"Generated {form.cleaned_data['count']:,} codes for each of "
                    f"{len(queryset)} pools.",
                    messages.SUCCESS,
                )
                return None
        return TemplateResponse(
            request,
            "admin/coupons/couponpool/generate_codes.html",
            {
                **self.admin_site.each_context(request),
                "title": "Generate codes",
                "form": form,
                "pools": queryset,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                "opts": self.model._meta,
            },
        )

    @admin.action(description="Export the selected pool as CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        if len(queryset) != 1:
            self.message_user(request, "Choose exactly one pool to export.", messages.ERROR)
            return None
        pool = queryset[0]
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="pool-{pool.coupon.code}.csv"'
        pool_export_csv(pool=pool, out=response)
        return response

    def import_view(self, request, pk):
        pool = get_object_or_404(CouponPool.objects.select_related("coupon"), pk=pk)
        if not self.has_change_permission(request, pool):
            return HttpResponse(status=403)
        if request.method == "POST":
            form = PoolImportForm(request.POST, request.FILES)
        else:
            form = PoolImportForm()
        if form.is_bound and form.is_valid():
            try:
                imported = pool_codes_import_csv(pool=pool, file=form.cleaned_data["file"])
            except ValidationError as error:
                form.add_error("file", error)
            else:
                self.message_user(request, f"Imported {imported:,} codes.", messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:coupons_couponpool_change", args=[pool.pk])
                )
        return TemplateResponse(
            request,
            "admin/coupons/couponpool/import_codes.html",
            {
                **self.admin_site.each_context(request),
                "title": "Import codes from CSV",
                "form": form,
                "pool": pool,
                "opts": self.model._meta,
            },
        )


@admin.register(PoolCode)
class PoolCodeAdmin(ReadOnlyModelAdmin):
    """Look up who holds which code; codes change only through the pool's actions."""

    list_display = ["code", "pool", "phone", "assigned_at"]
    list_filter = ["pool"]
    search_fields = ["code", "phone"]
    list_select_related = ["pool__coupon"]
