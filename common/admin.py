"""Admin bases shared by the apps."""

from django.contrib import admin


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """Records written only by the product's services: listed and viewed, never edited here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    """Related records shown on a page, never added, edited or deleted there."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
