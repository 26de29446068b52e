"""The order admin's CSV import pages: upload -> preview (orders and every error by line and
column; only the file is kept) -> confirm (all orders or none). Thin: orders.csv_import does
the work."""

from pathlib import Path

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from .csv_import import (
    COLUMNS,
    REQUIRED_COLUMNS,
    OrderImportError,
    order_import_confirm,
    order_import_preview,
)
from .csv_import.services import PREVIEW_ORDERS_SHOWN
from .forms import OrderImportForm
from .money import format_money

SAMPLE_CSV = Path(__file__).resolve().parent / "csv_import" / "sample.csv"


class OrderImportAdminMixin:
    """For the Order ModelAdmin: the "Import orders from CSV" button's pages."""

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("import/", view(self.import_view), name="orders_order_import"),
            path(
                "import/sample.csv",
                view(self.import_sample_view),
                name="orders_order_import_sample",
            ),
            path(
                "import/<int:pk>/confirm/",
                view(self.import_confirm_view),
                name="orders_order_import_confirm",
            ),
            *super().get_urls(),
        ]

    def _import_allowed(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied

    def import_view(self, request):
        self._import_allowed(request)
        form = OrderImportForm(request.POST or None, request.FILES or None)
        preview = order_import = None
        file_name = ""
        if request.method == "POST" and form.is_valid():
            file_name = request.FILES["file"].name
            preview, order_import = order_import_preview(
                text=form.cleaned_data["file"].read(), file_name=file_name, user=request.user
            )
        return self._import_page(
            request, form=form, preview=preview, order_import=order_import, file_name=file_name
        )

    def import_confirm_view(self, request, pk):
        self._import_allowed(request)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            order_import = order_import_confirm(order_import_id=pk, user=request.user)
        except OrderImportError as error:
            if not error.details:
                self.message_user(request, error.message, messages.ERROR)
                return HttpResponseRedirect(reverse("admin:orders_order_import"))
            return self._import_page(
                request,
                form=OrderImportForm(),
                errors=error.details,
                refused="Nothing was imported: the orders no longer pass the check. Fix the "
                "file and upload it again.",
            )
        skipped = (
            f" ({order_import.orders_existing:,} already stored were skipped)"
            if order_import.orders_existing
            else ""
        )
        self.message_user(
            request,
            f"Imported {order_import.orders_new:,} orders from {order_import.file_name}{skipped}.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:orders_order_changelist"))

    def import_sample_view(self, request):
        self._import_allowed(request)
        return FileResponse(
            SAMPLE_CSV.open("rb"),
            as_attachment=True,
            filename="orders-sample.csv",
            content_type="text/csv; charset=utf-8",
        )

    def _import_page(
        self, request, *, form, preview=None, order_import=None, errors=(), refused="", file_name=""
    ):
        context = {
            "file_name": file_name,
            **self.admin_site.each_context(request),
            "title": "Import orders from CSV",
            "opts": self.model._meta,
            "form": form,
            "columns": COLUMNS,
            "required_columns": REQUIRED_COLUMNS,
            "order_import": order_import,
            "errors": list(errors),
            "refused": refused,
        }
        if preview is not None:
            shown = preview.orders[:PREVIEW_ORDERS_SHOWN]
            context.update(
                preview=preview,
                errors=preview.errors,
                orders=[
                    {
                        "reference_id": o.reference_id,
                        "line": o.line,
                        "customer_name": o.customer_name,
                        "items": o.items,
                        "total": format_money(o.total),
                        "state": _state(o),
                    }
                    for o in shown
                ],
                orders_hidden=len(preview.orders) - len(shown),
                summary=_summary(preview),
            )
        return TemplateResponse(request, "admin/orders/order/import.html", context)


def _state(order) -> str:
    if order.total is None:
        return "has errors"
    return "already stored: skipped" if order.exists else "new"


def _summary(preview) -> str:
    if preview.errors:
        count = len(preview.errors)
        return (
            f"{count:,} error{'s' if count != 1 else ''} in {preview.rows:,} rows: nothing can "
            "be imported until every one is fixed. Fix the file and upload it again."
        )
    new, existing = len(preview.new), len(preview.existing)
    skipped = (
        f"; {existing:,} already stored with the same order will be skipped" if existing else ""
    )
    if not new:
        return f"Nothing to import: all {existing:,} orders are already stored."
    return (
        f"{new:,} new orders with {preview.items:,} items, {format_money(preview.total)} in all"
        f"{skipped}. Nothing is stored until you confirm."
    )
