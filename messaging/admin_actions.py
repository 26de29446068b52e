"""Admin actions that send messages, for the Order and Coupon admins.

Messaging contributes them to those admins (orders and coupons sit below messaging and do not
know it): MessagingConfig.ready() calls admin_send_actions_contribute(), which adds the actions
and the permission check Django's `@admin.action(permissions=["send_messages"])` calls to the
model admins registered for Order and Coupon. Admins of messaging's own models take
SendMessagesPermissionMixin.

Each goes through an intermediate page (messaging/send_form.html): the form, the first
recipient's message as the customer sees it (messaging.preview; its JSON behind a toggle) and
the refused orders / invalid numbers beside it, computed by the real service in a rolled-back
transaction; "Send" queues the batch and opens its page.
"""

import json

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from common.errors import DomainError
from coupons.models import Coupon
from orders.models import EventSource, Order

from .forms import CouponCodeForm, OrderDetailsForm, OrderStatusForm
from .models import MessageKind
from .preview import bubble_for
from .services import (
    QueueResult,
    coupon_code_send,
    order_details_send,
    order_status_send,
    orders_send_later,
    recipients_parse,
)

# Bigger order selections are prepared by a worker (see _orders_flow).
ORDERS_IN_REQUEST = 200
PREVIEW_ORDERS = 20

PERMISSION = "messaging.send_messages"


def send_messages_permitted(request) -> bool:
    return request.user.has_perm(PERMISSION)


class SendMessagesPermissionMixin:
    def has_send_messages_permission(self, request):
        return send_messages_permitted(request)


@admin.action(description="Send order details (checkout) message", permissions=["send_messages"])
def send_order_details(modeladmin, request, queryset):
    return _orders_flow(
        modeladmin,
        request,
        queryset,
        OrderDetailsForm,
        MessageKind.ORDER_DETAILS,
        order_details_send,
        "Send order details message",
    )


@admin.action(description="Send order status update", permissions=["send_messages"])
def send_order_status(modeladmin, request, queryset):
    return _orders_flow(
        modeladmin,
        request,
        queryset,
        OrderStatusForm,
        MessageKind.ORDER_STATUS,
        order_status_send,
        "Send order status",
    )


def _orders_flow(modeladmin, request, queryset, form_class, kind, send, title):
    """Up to ORDERS_IN_REQUEST orders are checked and queued while the operator waits; a bigger
    selection gets its batch at once and a worker prepares the messages (each order costs a few
    queries: its reference, its history), the refusals then shown on the batch page. The preview
    of a big selection covers its first PREVIEW_ORDERS orders."""
    big = queryset.count() > ORDERS_IN_REQUEST

    def run(form, dry_run):
        options = form.service_kwargs()
        if big and not dry_run:
            batch = orders_send_later(kind=kind, orders=queryset, user=request.user, **options)
            return QueueResult(batch=batch)
        orders = _ordered(queryset)
        return send(
            orders=orders[:PREVIEW_ORDERS] if big else orders,
            user=request.user,
            source=EventSource.ADMIN,
            dry_run=dry_run,
            **options,
        )

    note = (
        f"The preview checks the first {PREVIEW_ORDERS} orders; on Send, a worker prepares "
        "all of them and the batch page lists any refused."
        if big
        else ""
    )
    return _send_flow(modeladmin, request, queryset, form_class, run, title, note=note)


@admin.action(description="Send coupon code message", permissions=["send_messages"])
def send_coupon_code(modeladmin, request, queryset):
    coupons = list(queryset[:2])
    if len(coupons) != 1:
        modeladmin.message_user(
            request, "Select exactly one coupon to send its code.", messages.ERROR
        )
        return None
    coupon = coupons[0]

    def run(form, dry_run):
        recipients = recipients_parse(
            text=form.cleaned_data["recipients"], csv_file=form.cleaned_data["recipients_file"]
        )
        return coupon_code_send(
            coupon=coupon,
            recipients=recipients,
            user=request.user,
            dry_run=dry_run,
            **form.service_kwargs(),
        )

    return _send_flow(
        modeladmin, request, queryset, CouponCodeForm, run, f"Send coupon {coupon.code}"
    )


def _ordered(queryset):
    return (
        queryset.select_related("selected_address")
        .prefetch_related("items", "addresses")
        .order_by("pk")
    )


def _send_flow(modeladmin, request, queryset, form_class, run, title, note=""):
    result = error = None
    if "_preview" in request.POST or "_send" in request.POST:
        form = form_class(request.POST, request.FILES)
    else:
        # First display: preview with the defaults when they are enough (orders).
        form = form_class()
        defaults = form_class({name: form[name].initial or "" for name in form.fields})
        if defaults.is_valid():
            form = defaults
    if form.is_bound and form.is_valid():
        try:
            if "_send" in request.POST:
                result = run(form, dry_run=False)
                return _sent(modeladmin, request, result)
            result = run(form, dry_run=True)
        except DomainError as exc:  # any refusal: shown above the form, nothing queued
            error = exc.message
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": modeladmin.model._meta,
        "form": form,
        "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        "select_across": request.POST.get("select_across", "0"),
        "action": request.POST.get("action", ""),
        "count": queryset.count(),
        "objects": list(queryset[:20]),
        "error": error,
        "note": note,
        "result": result,
        "preview": json.dumps(result.preview, indent=2, ensure_ascii=False)
        if result and result.preview
        else "",
        "bubble": _bubble(result),
        "queued_count": len(result.messages) if result else 0,
        "media": modeladmin.media + form.media,
    }
    return TemplateResponse(request, "messaging/send_form.html", context)


def _bubble(result):
    """The first recipient's message as the customer sees it (None when none would be sent)."""
    if result is None or not result.messages:
        return None
    first = result.messages[0]
    return bubble_for(payload=first.payload, kind=first.kind)


def _sent(modeladmin, request, result):
    for refusal in result.refused[:50]:
        modeladmin.message_user(
            request, f"Refused {refusal.target}: {refusal.reason}", messages.WARNING
        )
    if len(result.refused) > 50:
        modeladmin.message_user(
            request, f"... and {len(result.refused) - 50} more refused.", messages.WARNING
        )
    if result.batch is None:
        modeladmin.message_user(request, "Nothing was queued.", messages.ERROR)
        return None
    if result.batch.prepared_at is None:
        modeladmin.message_user(
            request,
            f"Batch '{result.batch.name}' created: a worker is preparing its "
            f"{result.batch.requested} messages; refused orders will be listed here.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(
            reverse("admin:messaging_sendbatch_change", args=[result.batch.pk])
        )
    modeladmin.message_user(
        request,
        f"Queued {len(result.messages)} message(s) in batch '{result.batch.name}'.",
        messages.SUCCESS,
    )
    return HttpResponseRedirect(reverse("admin:messaging_sendbatch_change", args=[result.batch.pk]))


def admin_send_actions_contribute(*, site=admin.site) -> None:
    """Add the send actions to the Order and Coupon admins registered on `site` (run once the
    admins are registered: MessagingConfig.ready(), after the admin's autodiscovery)."""
    contributions = {
        Order: [send_order_details, send_order_status],
        Coupon: [send_coupon_code],
    }
    for model, actions in contributions.items():
        model_admin = site._registry.get(model)
        if model_admin is None:
            continue
        model_admin.actions = [*(model_admin.actions or ()), *actions]
        model_admin.has_send_messages_permission = send_messages_permitted
