"""Admin bases shared by the apps."""

from django import forms
from django.contrib import admin
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from .models import ApiKey, ApiScope


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """Records written only by the product's services: listed and viewed, never edited here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=ApiScope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[ApiScope.READ, ApiScope.WRITE],
    )

    class Meta:
        model = ApiKey
        fields = ("name", "scopes", "expiry_date", "revoked")


@admin.register(ApiKey)
class ApiKeyAdmin(APIKeyModelAdmin):
    """Keys for /api/v1/: the key is shown once, when saved first; revoke instead of deleting."""

    form = ApiKeyForm
    list_display = ("prefix", "name", "scopes", "created", "last_used_at", "expiry_date", "revoked")
    list_filter = ("revoked", "created")

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "last_used_at")


if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)  # the library's own model: common.ApiKey is the one used


class ReadOnlyInline(admin.TabularInline):
    """Related records shown on a page, never added, edited or deleted there."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
