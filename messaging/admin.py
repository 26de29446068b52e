import json

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db.models import URLField
from django.forms.models import BaseInlineFormSet
from django.http import JsonResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html

from common.admin import ReadOnlyModelAdmin
from common.changelists import FastChangeListMixin

from .admin_actions import SendMessagesPermissionMixin
from .models import (
    CallbackReceipt,
    InboundEvent,
    MessageStatus,
    MessageTemplate,
    SendBatch,
    SentMessage,
    TemplateParameter,
)
from .models.templates import parameters_problem
from .preview import bubble_for, bubble_render
from .rollups.read import batch_count_expression
from .selectors import batch_progress
from .services import messages_retry, sending_pause_clear
from .services.recovery import messages_retry_risky

S = MessageStatus


@admin.register(SendBatch)
class SendBatchAdmin(FastChangeListMixin, SendMessagesPermissionMixin, ReadOnlyModelAdmin):
    list_display = ("name", "kind", "created_by", "created_at", "total", "accepted", "failed")
    list_filter = ("kind", "created_at")
    search_fields = search_partial_fields = ("name",)
    search_help_text = "Part of a batch's name (at least 3 characters)."
    date_hierarchy = "created_at"
    fields = ("name", "kind", "template_name", "language", "created_by", "created_at")
    readonly_fields = fields
    change_form_template = "admin/messaging/sendbatch/change_form.html"
    actions = ["lift_pause"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("created_by")
            # The batches' kept counts (messaging.rollups), not a count of their messages.
            .annotate(
                total_count=batch_count_expression(),
                accepted_count=batch_count_expression([S.ACCEPTED, S.SENT, S.DELIVERED, S.READ]),
                failed_count=batch_count_expression([S.FAILED, S.NOT_SENT]),
            )
        )

    @admin.display(description="messages", ordering="total_count")
    def total(self, obj):
        return obj.total_count

    @admin.display(description="accepted or further")
    def accepted(self, obj):
        return obj.accepted_count

    @admin.display(description="failed")
    def failed(self, obj):
        return obj.failed_count

    @admin.action(
        description="Lift the sending pause now (balance topped up)",
        permissions=["send_messages"],
    )
    def lift_pause(self, request, queryset):
        if sending_pause_clear():
            self.message_user(request, "Sending resumes with the next try.", messages.SUCCESS)
        else:
            self.message_user(request, "Sending was not paused.", messages.INFO)

    def get_urls(self):
        progress = self.admin_site.admin_view(self.progress_view)
        return [
            path("<path:object_id>/progress/", progress, name="messaging_sendbatch_progress"),
            *super().get_urls(),
        ]

    def progress_view(self, request, object_id):
        # get_object: None for an id that is not a batch's, "abc" included (not a 500).
        batch = self.get_object(request, unquote(object_id))
        if batch is None:
            return JsonResponse({"error": "not_found"}, status=404)
        if not self.has_view_permission(request, batch):
            return JsonResponse({"error": "forbidden"}, status=403)
        return JsonResponse(batch_progress(batch=batch))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        batch = self.get_object(request, unquote(object_id))
        if batch is not None:  # else the admin's own "does not exist" answer
            extra_context = {
                **(extra_context or {}),
                "progress": batch_progress(batch=batch),
                "refused": batch.refused,
            }
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(SentMessage)
class SentMessageAdmin(FastChangeListMixin, SendMessagesPermissionMixin, ReadOnlyModelAdmin):
    list_display = (
        "id",
        "kind",
        "recipient",
        "status",
        "ref",
        "provider_message_id",
        "possible_duplicate",
        "attempts",
        "error_code",
        "created_at",
        "batch",
    )
    list_filter = ("kind", "status", "possible_duplicate", "batch", "created_at")
    # Each search goes through an index (common/changelists.py): a phone number in any form
    # exactly, part of a phone number or ref by trigram, Kaleyra's ids and ref1/ref2 exactly.
    search_fields = search_partial_fields = ("recipient", "ref")
    search_phone_fields = ("recipient",)
    search_exact_fields = ("provider_message_id", "first_provider_message_id", "ref1", "ref2")
    search_help_text = (
        "A phone number in any form (98123 45601, +91 98123 45601, 098123-45601), part of a "
        "phone number or ref (at least 3 characters), or a whole Kaleyra message id, ref1 or ref2."
    )
    # Sorting by another column would sort the whole table; no date hierarchy (its year and
    # month links read every row's date; the "created at" filter offers the same periods).
    sortable_by = ("id", "created_at")
    list_select_related = ("batch",)
    actions = ["retry_failed"]
    fields = (
        "kind",
        "batch",
        "recipient",
        "order",
        "coupon",
        "status",
        "provider_message_id",
        "possible_duplicate",
        "first_provider_message_id",
        "error",
        "attempts",
        "template_name",
        "language",
        "ref",
        "ref1",
        "ref2",
        "wa_source",
        "customer_view",
        "payload_json",
        "created_at",
        "next_attempt_at",
        "claimed_at",
        "requested_at",
        "accepted_at",
        "sent_at",
        "delivered_at",
        "read_at",
        "failed_at",
    )
    readonly_fields = fields

    @admin.display(description="as the customer sees it")
    def customer_view(self, obj):
        return bubble_render(bubble=bubble_for(payload=obj.payload, kind=obj.kind))

    @admin.display(description="JSON sent")
    def payload_json(self, obj):
        return format_html(
            '<details id="payload-json"><summary>Show the JSON</summary>{}</details>',
            _pre(json.dumps(obj.payload, indent=2, ensure_ascii=False)),
        )

    @admin.display(description="error")
    def error(self, obj):
        if not obj.error_code and not obj.error_message:
            return "-"
        return f"{obj.error_code}: {obj.error_message}"

    @admin.action(description="Retry failed messages", permissions=["send_messages"])
    def retry_failed(self, request, queryset):
        confirmed = request.POST.get("confirm_risky") == "yes"
        result = messages_retry(messages=queryset, confirmed=confirmed)
        if result["needs_confirmation"]:
            risky = messages_retry_risky(messages=queryset)
            context = {
                **self.admin_site.each_context(request),
                "title": "Retry messages that need a human first?",
                "opts": self.model._meta,
                "retried": result["retried"],
                "risky": list(risky[:100]),
                "risky_count": result["needs_confirmation"],
                "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
                "select_across": request.POST.get("select_across", "0"),
            }
            return TemplateResponse(request, "messaging/retry_confirm.html", context)
        self.message_user(
            request,
            f"{result['retried']} message(s) queued again; {result['skipped']} were not failed.",
            messages.SUCCESS,
        )
        return None


# --- inbound: callback receipts and the events they carried (read-only) --------------------------


class HandledFilter(admin.SimpleListFilter):
    title = "handled"
    parameter_name = "handled"

    def lookups(self, request, model_admin):
        return [("yes", "Handled"), ("no", "Not handled (no handler yet, or it failed)")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(handled_at__isnull=self.value() == "no")
        return queryset


RAW_BODY_SHOWN = 100_000  # characters of a raw body on its admin page (a body may be 10 MiB)


def _pre(text: str):
    return format_html('<pre style="white-space: pre-wrap">{}</pre>', text)


@admin.register(CallbackReceipt)
class CallbackReceiptAdmin(FastChangeListMixin, ReadOnlyModelAdmin):
    list_display = (
        "id",
        "received_at",
        "content_type",
        "size",
        "event_count",
        "accepted",
        "truncated",
    )
    list_filter = ("truncated", ("received_at", admin.DateFieldListFilter))
    # Each search goes through an index (common/changelists.py): the receipt's id or its body's
    # sha256 whole, part of a rejection reason by trigram.
    search_fields = ("id", "body_sha256", "rejected_reason")
    search_integer_fields = ("id",)
    search_exact_fields = ("body_sha256",)
    search_partial_fields = ("rejected_reason",)
    search_help_text = (
        "A receipt id or a body's sha256, whole, or part of a rejection reason (at least 3 "
        "characters)."
    )
    # As the sent messages list: sorting by another column would sort the whole table; no date
    # hierarchy (its links read every row's date; the "received at" filter has the periods).
    sortable_by = ("id", "received_at")
    fields = (
        "received_at",
        "remote_addr",
        "content_type",
        "size",
        "truncated",
        "body_sha256",
        "rejected_reason",
        "event_count",
        "events",
        "raw_body",
    )
    readonly_fields = fields

    @admin.display(boolean=True, description="accepted")
    def accepted(self, obj):
        return not obj.rejected_reason

    @admin.display(description="body")
    def raw_body(self, obj):
        if len(obj.body) <= RAW_BODY_SHOWN:
            return _pre(obj.body)
        return format_html(
            "<p>The first {} of {} characters:</p>{}",
            f"{RAW_BODY_SHOWN:,}",
            f"{len(obj.body):,}",
            _pre(obj.body[:RAW_BODY_SHOWN]),
        )

    @admin.display(description="events")
    def events(self, obj):
        lines = [
            f"status {e.status} for {', '.join(e.provider_ids)} ({e.get_outcome_display()})"
            for e in obj.events.all()
        ]
        lines += [
            f"{e.get_event_type_display()} {e.type_name} {e.status} "
            f"{e.reference or e.external_id} ({'handled' if e.handled_at else 'not handled'})"
            for e in obj.inbound_events.all()
        ]
        return _pre("\n".join(lines) or "-")


INBOUND_EVENT_FIELDS = (
    "event_type",
    "type_name",
    "status",
    "reference",
    "external_id",
    "phone",
    "times_received",
)


@admin.register(InboundEvent)
class InboundEventAdmin(FastChangeListMixin, ReadOnlyModelAdmin):
    list_display = ("id", "created_at", *INBOUND_EVENT_FIELDS, "handled", "receipt")
    list_filter = (
        "event_type",
        HandledFilter,
        "provider",
        ("created_at", admin.DateFieldListFilter),
    )
    # Each search goes through an index (common/changelists.py): a phone number in any form
    # exactly (as Kaleyra wrote it, with or without +), part of a reference or phone number by
    # trigram, a whole reference or provider id, a receipt's id.
    search_fields = search_partial_fields = ("reference", "phone")
    search_phone_text_fields = ("phone",)
    search_exact_fields = ("reference", "external_id")
    search_integer_fields = ("receipt_id",)
    search_help_text = (
        "A phone number in any form, part of a reference or phone number (at least 3 "
        "characters), a whole provider id (message, transaction, template) or a receipt id."
    )
    sortable_by = ("id", "created_at")  # as the callback receipts list
    list_select_related = ("receipt",)
    fields = ("provider", *INBOUND_EVENT_FIELDS, "handled_at", "created_at", "receipt", "data_json")
    readonly_fields = fields

    @admin.display(boolean=True, description="handled", ordering="handled_at")
    def handled(self, obj):
        return obj.handled_at is not None

    @admin.display(description="JSON received")
    def data_json(self, obj):
        return _pre(json.dumps(obj.data, indent=2, ensure_ascii=False))


# The template registry: approved templates and where each body placeholder's value comes from.


class TemplateParameterFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(form.errors for form in self.forms):
            return
        kept = [
            form.instance
            for form in self.forms
            if form.has_changed() or form.instance.pk
            if not self._should_delete_form(form)
        ]
        problem = parameters_problem(template=self.instance, parameters=kept)
        if problem:
            raise ValidationError(problem[1])


class TemplateParameterInline(admin.TabularInline):
    model = TemplateParameter
    formset = TemplateParameterFormSet
    fields = ("position", "source", "fixed_text")
    extra = 0


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "language", "kind", "header_format", "updated_at")
    list_filter = ("kind", "header_format", "language")
    search_fields = ("name", "body_text")
    inlines = [TemplateParameterInline]
    formfield_overrides = {URLField: {"assume_scheme": "https"}}  # a link typed without one
    fieldsets = (
        (None, {"fields": ("name", "language", "kind")}),
        (
            "Header",
            {
                "fields": (
                    "header_format",
                    "header_text",
                    "header_media_link",
                    "header_media_id",
                    "header_filename",
                )
            },
        ),
        ("Body and footer", {"fields": ("body_text", "footer_text")}),
    )
