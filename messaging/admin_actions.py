"""Admin actions that send messages, for the Order and Coupon admins.

Wire them into the model admins (the mixin supplies the permission check Django's
`@admin.action(permissions=["send_messages"])` calls):

    class OrderAdmin(SendMessagesPermissionMixin, admin.ModelAdmin):
        actions = [send_order_details, send_order_status]

    class CouponAdmin(SendMessagesPermissionMixin, admin.ModelAdmin):
        actions = [send_coupon_code]

Each goes through an intermediate page (messaging/send_form.html): the form, a preview of the
JSON for the first recipient and the refused orders / invalid numbers, computed by the real
service in a rolled-back transaction; "Send" queues the batch and opens its page.
"""

import json

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from orders.models import EventSource

from .errors import MessagingError
from .forms import CouponCodeForm, OrderDetailsForm, OrderStatusForm
from .services import coupon_code_send, order_details_send, order_status_send, recipients_parse

PERMISSION = "messaging.send_messages"


class SendMessagesPermissionMixin:
    def has_send_messages_permission(self, request):
        return request.user.has_perm(PERMISSION)


@admin.action(description="Send order details (checkout) message", permissions=["send_messages"])
def send_order_details(modeladmin, request, queryset):
    def run(form, dry_run):
        return order_details_send(
            orders=_ordered(queryset),
            user=request.user,
            source=EventSource.ADMIN,
            dry_run=dry_run,
            **form.service_kwargs(),
        )

    return _send_flow(
        modeladmin, request, queryset, OrderDetailsForm, run, "Send order details message"
    )


@admin.action(description="Send order status update", permissions=["send_messages"])
def send_order_status(modeladmin, request, queryset):
    def run(form, dry_run):
        return order_status_send(
            orders=_ordered(queryset),
            user=request.user,
            source=EventSource.ADMIN,
            dry_run=dry_run,
            **form.service_kwargs(),
        )

    return _send_flow(modeladmin, request, queryset, OrderStatusForm, run, "Send order status")


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
        upload = form.cleaned_data.get("recipients_file")
        if upload is not None:
            upload.seek(0)
        recipients = recipients_parse(text=form.cleaned_data["recipients"], csv_file=upload)
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
    return queryset.select_related("selected_address").order_by("pk")


def _send_flow(modeladmin, request, queryset, form_class, run, title):
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
        except MessagingError as exc:
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
        "result": result,
        "preview": json.dumps(result.preview, indent=2, ensure_ascii=False)
        if result and result.preview
        else "",
        "queued_count": len(result.messages) if result else 0,
        "media": modeladmin.media + form.media,
    }
    return TemplateResponse(request, "messaging/send_form.html", context)


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
    modeladmin.message_user(
        request,
        f"Queued {len(result.messages)} message(s) in batch '{result.batch.name}'.",
        messages.SUCCESS,
    )
    return HttpResponseRedirect(reverse("admin:messaging_sendbatch_change", args=[result.batch.pk]))
