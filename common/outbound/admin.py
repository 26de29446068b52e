"""Admin of the outgoing webhooks: endpoints (secret shown once, rotate, pause, resume), events
and deliveries with their attempts (read-only). Registered from CommonConfig.ready()."""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.html import format_html

from ..admin import ReadOnlyInline, ReadOnlyModelAdmin
from ..forms import as_validation_error
from .models import EVENT_TYPES, OutboundEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .services import (
    WebhookEndpointError,
    webhook_endpoint_create,
    webhook_endpoint_pause,
    webhook_endpoint_resume,
    webhook_endpoint_secret_rotate,
    webhook_endpoint_update,
)
from .urls import WebhookUrlError, webhook_url_check


class WebhookEndpointForm(forms.ModelForm):
    url = forms.CharField(
        label="URL",
        max_length=2048,
        help_text="Where the events are POSTed (https://...; public addresses only).",
    )
    events = forms.MultipleChoiceField(
        choices=EVENT_TYPES, widget=forms.CheckboxSelectMultiple, help_text="Events to send."
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "description", "events")

    def clean_url(self):
        try:
            return webhook_url_check(self.cleaned_data["url"])
        except WebhookUrlError as exc:
            raise as_validation_error(exc) from None


class WebhookAttemptInline(ReadOnlyInline):
    model = WebhookAttempt
    fields = readonly_fields = (
        "started_at",
        "status_code",
        "duration_ms",
        "error",
        "response_excerpt",
    )


class WebhookDeliveryInline(ReadOnlyInline):
    model = WebhookDelivery
    fk_name = "event"
    fields = readonly_fields = ("endpoint", "state", "attempts", "next_attempt_at", "last_error")
    show_change_link = True


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("url", "description", "events_list", "state", "failures_in_row", "created_at")
    readonly_fields = (
        "state",
        "paused_reason",
        "paused_at",
        "failures_in_row",
        "rotation_until",
        "created_at",
    )
    actions = ("rotate_secret", "pause", "resume")

    @admin.display(description="Events")
    def events_list(self, endpoint):
        return ", ".join(endpoint.events)

    @admin.display(description="State")
    def state(self, endpoint):
        if endpoint.active:
            return "active"
        return format_html(
            '<strong style="color:#ba2121">paused</strong>: {}', endpoint.paused_reason
        )

    @admin.display(description="Previous secret valid until")
    def rotation_until(self, endpoint):
        return endpoint.previous_secret_expires_at or "-"

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ("url", "description", "events")})]
        return [
            (None, {"fields": ("url", "description", "events")}),
            ("State", {"fields": self.readonly_fields}),
        ]

    def changelist_view(self, request, extra_context=None):
        paused = WebhookEndpoint.objects.filter(active=False) if request.method == "GET" else []
        for endpoint in paused:
            messages.warning(
                request,
                f"Webhook endpoint {endpoint.url} is paused"
                f"{': ' + endpoint.paused_reason if endpoint.paused_reason else ''}. "
                "Its deliveries wait; select it and run “Resume” once it answers again.",
            )
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            if change:
                webhook_endpoint_update(
                    endpoint=obj,
                    url=data["url"],
                    events=data["events"],
                    description=data.get("description", ""),
                )
            else:
                endpoint, secret = webhook_endpoint_create(
                    url=data["url"], events=data["events"], description=data.get("description", "")
                )
                obj.pk = endpoint.pk
                obj._state.adding = False
                request._webhook_secret = secret
        except (WebhookEndpointError, WebhookUrlError) as exc:
            raise forms.ValidationError(exc.message) from exc

    def response_add(self, request, obj, post_url_continue=None):
        return self._secret_page(
            request,
            obj,
            request._webhook_secret,
            title="Endpoint registered",
            intro=f"The endpoint {obj.url} is registered.",
        )

    def _secret_page(self, request, endpoint, secret, *, title, intro, rotation_until=None):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "intro": intro,
            "secret": secret,
            "endpoint": endpoint,
            "rotation_until": rotation_until,
        }
        return TemplateResponse(request, "admin/outbound/secret_once.html", context)

    @admin.action(description="Rotate the signing secret (the old one stays valid a while)")
    def rotate_secret(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Rotate one endpoint at a time.", messages.ERROR)
            return None
        endpoint = queryset.get()
        secret = webhook_endpoint_secret_rotate(endpoint=endpoint)
        return self._secret_page(
            request,
            endpoint,
            secret,
            title="Secret rotated",
            intro=f"The endpoint {endpoint.url} has a new signing secret.",
            rotation_until=endpoint.previous_secret_expires_at,
        )

    @admin.action(description="Pause (deliveries wait)")
    def pause(self, request, queryset):
        for endpoint in queryset:
            webhook_endpoint_pause(endpoint=endpoint, reason=f"Paused by {request.user}.")
        self.message_user(request, f"{queryset.count()} endpoint(s) paused.")

    @admin.action(description="Resume (waiting deliveries go now)")
    def resume(self, request, queryset):
        waiting = sum(webhook_endpoint_resume(endpoint=endpoint) for endpoint in queryset)
        self.message_user(
            request, f"{queryset.count()} endpoint(s) resumed; {waiting} delivery(ies) go now."
        )


@admin.register(OutboundEvent)
class OutboundEventAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "type", "ordering_key", "created_at")
    list_filter = ("type",)
    search_fields = ("=id", "ordering_key")
    fields = readonly_fields = ("id", "type", "created_at", "ordering_key", "complete", "payload")
    inlines = [WebhookDeliveryInline]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "event_type", "endpoint", "state", "attempts", "next_attempt_at")
    list_filter = ("state", "endpoint", "event__type")
    list_select_related = ("event", "endpoint")
    search_fields = ("=event__id", "ordering_key")
    fields = readonly_fields = (
        "endpoint",
        "event",
        "ordering_key",
        "state",
        "attempts",
        "next_attempt_at",
        "leased_until",
        "last_error",
        "created_at",
        "finished_at",
    )
    inlines = [WebhookAttemptInline]

    @admin.display(description="Event", ordering="event__type")
    def event_type(self, delivery):
        return delivery.event.type
