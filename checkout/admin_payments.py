"""The payments in the admin: the Payment pages (read-only, with refunds and the raw events),
"Payments needing attention", and what checkout contributes to the Order admin (orders sits
below checkout and does not know it): a payment status column and filter on the list and a
payment panel on the order page. CheckoutConfig.ready() calls admin_payments_contribute()."""

import json

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from common.admin import ReadOnlyInline, ReadOnlyModelAdmin
from orders.models import Order
from orders.money import format_money, format_rupees

from .models import Payment, PaymentCheck, PaymentRefund, PaymentStatus
from .payments.reconcile import order_payment_check
from .payments.selectors import orders_payment_status_annotate
from .selectors import payments_needing_attention


def _amount(minor, currency) -> str:
    """₹1,650.00 for rupees; another currency (a mismatch) keeps its code: USD 1,650.00."""
    if currency == "INR":
        return format_money(minor)
    return f"{currency} {format_rupees(minor)}"


def _flags(payment) -> str:
    flags = []
    if payment.amount_mismatch:
        flags.append("amount or currency mismatch")
    if payment.refund_needed:
        flags.append("refund needed")
    text = ", ".join(flags)
    if payment.flag_note:
        text = f"{text}: {payment.flag_note}" if text else payment.flag_note
    return text or "-"


def _refunds(payment) -> str:
    refunds = list(payment.refunds.all())
    if not refunds:
        return "-"
    return format_html_join(
        mark_safe("<br>"),
        "{} {} ({})",
        ((r.refund_id, format_money(r.amount), r.status or "no status") for r in refunds),
    )


class PaymentColumns:
    """The displays the payment panel, the Payment list and the attention view share."""

    @admin.display(description="Amount", ordering="amount")
    def amount_display(self, payment):
        return _amount(payment.amount, payment.currency)

    @admin.display(description="Refunds")
    def refunds_display(self, payment):
        return _refunds(payment)

    @admin.display(description="Flags")
    def flags_display(self, payment):
        return _flags(payment)


class PaymentRefundInline(ReadOnlyInline):
    model = PaymentRefund
    fields = readonly_fields = (
        "refund_id",
        "amount_display",
        "status",
        "provider_created_at",
        "provider_updated_at",
    )

    @admin.display(description="Amount")
    def amount_display(self, refund):
        return format_money(refund.amount)


class OrderPaymentInline(PaymentColumns, ReadOnlyInline):
    """The payment panel on the order page: each transaction, its refunds and flags."""

    model = Payment
    verbose_name_plural = "payments"
    fields = readonly_fields = (
        "transaction_link",
        "reference_id",
        "gateway",
        "status",
        "provider_status",
        "method",
        "amount_display",
        "refunds_display",
        "flags_display",
        "provider_updated_at",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("refunds")

    @admin.display(description="Transaction")
    def transaction_link(self, payment):
        url = reverse("admin:checkout_payment_change", args=[payment.pk])
        return format_html('<a href="{}">{}</a>', url, payment.transaction_id)


class OrderPaymentCheckInline(ReadOnlyInline):
    """Beside the payment panel: the reconciliation's lookups of the order's payment at
    Kaleyra (checkout.payments.reconcile), how many, the last one's time, outcome and answer,
    and when the next is due."""

    model = PaymentCheck
    verbose_name = verbose_name_plural = "payment lookups (Get Payment Status)"
    fields = readonly_fields = ("when", "outcome", "answer", "lookups", "next_lookup")

    @admin.display(description="Last lookup")
    def when(self, check):
        return _local(check.last_checked_at)

    @admin.display(description="Outcome")
    def outcome(self, check):
        return OUTCOME_LABELS.get(check.last_outcome, check.last_outcome or "-")

    @admin.display(description="Answer")
    def answer(self, check):
        return check.last_note or "-"

    @admin.display(description="Next lookup")
    def next_lookup(self, check):
        return _local(check.next_check_at)


def _local(moment) -> str:
    """A time as the admin shows it (the shop's time zone), or '-'."""
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT") if moment else "-"


OUTCOME_LABELS = {
    "found": "found payment updates",
    "none": "no payment yet",
    "failed": "lookup failed",
}


class PaymentStatusFilter(admin.SimpleListFilter):
    title = "payment status"
    parameter_name = "payment_status"

    def lookups(self, request, model_admin):
        return PaymentStatus.choices

    def queryset(self, request, queryset):
        if self.value() in PaymentStatus.values:
            return queryset.filter(payment_status=self.value())
        return queryset


@admin.display(description="Payment", ordering="payment_status")
def order_payment_status_column(order):
    return PaymentStatus(order.payment_status).label


@admin.action(description="Check payment status", permissions=["change"])
def orders_payment_check_action(modeladmin, request, queryset):
    """Ask Kaleyra's Get Payment Status API now for each selected order; one message per
    order saying what was found (or why the lookup failed)."""
    levels = {"found": messages.SUCCESS, "none": messages.INFO, "failed": messages.ERROR}
    for order in queryset.order_by("pk"):
        result = order_payment_check(order=order)
        modeladmin.message_user(
            request, f"Order {order.reference_id}: {result.note}", levels[result.outcome]
        )


def admin_payments_contribute(*, site=admin.site) -> None:
    """Add the payment column, filter and panel to the Order admin registered on `site` (run
    once the admins are registered: CheckoutConfig.ready()); once, however often it runs."""
    model_admin = site._registry.get(Order)
    if model_admin is None or order_payment_status_column in model_admin.list_display:
        return  # no order admin, or contributed already (a second ready())
    list_display = list(model_admin.list_display)
    after = list_display.index("status") + 1 if "status" in list_display else len(list_display)
    list_display.insert(after, order_payment_status_column)
    model_admin.list_display = tuple(list_display)
    if model_admin.sortable_by is not None:  # the order list names the columns it sorts by
        model_admin.sortable_by = (*model_admin.sortable_by, order_payment_status_column)
    model_admin.list_filter = (*model_admin.list_filter, PaymentStatusFilter)
    model_admin.inlines = (*model_admin.inlines, OrderPaymentInline, OrderPaymentCheckInline)
    model_admin.actions = (*(model_admin.actions or ()), orders_payment_check_action)
    queryset_of = model_admin.get_queryset

    def get_queryset(request):
        return orders_payment_status_annotate(queryset_of(request))

    model_admin.get_queryset = get_queryset


@admin.register(Payment)
class PaymentAdmin(PaymentColumns, ReadOnlyModelAdmin):
    change_list_template = "admin/checkout/payment/change_list.html"
    list_display = (
        "created_at",
        "reference_id",
        "order_link",
        "gateway",
        "transaction_id",
        "status",
        "amount_display",
        "flags_display",
        "provider_updated_at",
    )
    list_filter = ("status", "gateway", "amount_mismatch", "refund_needed")
    search_fields = ("reference_id", "transaction_id", "order__reference_id")
    list_select_related = ("order",)
    date_hierarchy = "created_at"
    fields = (
        "order_link",
        "reference_id",
        "gateway",
        "transaction_id",
        ("status", "provider_status", "method"),
        "amount_display",
        "flags_display",
        ("error_code", "error_reason"),
        ("provider_created_at", "provider_updated_at"),
        "applied_at",
        ("created_at", "updated_at"),
        "raw_events",
    )
    readonly_fields = tuple(
        name for entry in fields for name in (entry if isinstance(entry, tuple) else (entry,))
    )
    inlines = (PaymentRefundInline,)

    @admin.display(description="Order", ordering="order__reference_id")
    def order_link(self, payment):
        if payment.order_id is None:
            return "not matched yet (no order with this reference)"
        url = reverse("admin:orders_order_change", args=[payment.order_id])
        return format_html('<a href="{}">{}</a>', url, payment.order.reference_id)

    @admin.display(description="Payment updates received (raw)")
    def raw_events(self, payment):
        events = payment.events.order_by("created_at", "pk")
        if not events:
            return "-"
        return format_html_join(
            "",
            '<p><a href="{}">Event {}</a>, {} (received {} time(s))</p><pre>{}</pre>',
            (
                (
                    reverse("admin:messaging_inboundevent_change", args=[event.pk]),
                    event.pk,
                    event.status or "no status",
                    event.times_received,
                    json.dumps(event.data, indent=2, ensure_ascii=False),
                )
                for event in events
            ),
        )

    def get_urls(self):
        view = self.admin_site.admin_view(self.attention_view)
        return [
            path("attention/", view, name="checkout_payment_attention"),
            *super().get_urls(),
        ]

    def attention_view(self, request):
        """Payments needing attention: mismatches, refunds needed, pending for long."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        after = settings.PAYMENT_PENDING_ATTENTION_AFTER
        groups = payments_needing_attention(now=timezone.now(), pending_after=after)
        sections = [
            ("Amount or currency mismatch: the order did not move on", groups["mismatch"]),
            ("Refund needed: captured on a canceled or expired order", groups["refund_needed"]),
            (f"Pending for more than {int(after // 60)} minutes", groups["pending"]),
        ]
        rows = [
            (
                title,
                [
                    {
                        "payment": payment,
                        "url": reverse("admin:checkout_payment_change", args=[payment.pk]),
                        "order": self.order_link(payment),
                        "amount": self.amount_display(payment),
                        "flags": self.flags_display(payment),
                    }
                    for payment in payments
                ],
            )
            for title, payments in sections
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": "Payments needing attention",
            "opts": self.model._meta,
            "sections": rows,
        }
        return TemplateResponse(request, "admin/checkout/payment/attention.html", context)
