"""Staff reports under the admin: /admin/reports/delivery/ and /admin/reports/refs/.
`?format=csv` gives the tables on the page as CSV."""

import csv

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse

from . import selectors
from .charts import FUNNEL, bar_chart_svg
from .forms import RefReportFilterForm, ReportFilterForm
from .paid import report_figures_enabled
from .tables import (
    FIGURE_DEFINITIONS,
    PAID_DEFINITIONS,
    day_series,
    delivery_table,
    failure_table,
    ref_table,
)

PERMISSION = "messaging.view_reports"
REF_CHART_GROUPS = 20


def _guard(request):
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied("Viewing reports needs the 'Can view reports' permission.")


def _respond(request, *, form, template, title, tables, filename, **context):
    """The page, or its tables as CSV; invalid filters get 400 with the form's errors."""
    as_csv = request.GET.get("format") == "csv"
    if not form.is_valid():
        if as_csv:
            errors = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
            return HttpResponse(f"Invalid filters: {errors}", status=400, content_type="text/plain")
        tables = []
    elif as_csv:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        writer = csv.writer(response)
        for index, table in enumerate(tables):
            if index:
                writer.writerow([])
            writer.writerow(table.headers)
            for row in [*table.rows, *table.footer]:
                writer.writerow([cell.text for cell in row])
        return response
    query = request.GET.copy()
    query["format"] = "csv"
    return TemplateResponse(
        request,
        template,
        {
            **admin.site.each_context(request),
            "title": title,
            "form": form,
            "tables": tables,
            "csv_query": query.urlencode(),
            "definitions": [
                *FIGURE_DEFINITIONS,
                *(PAID_DEFINITIONS if report_figures_enabled() else []),
            ],
            "time_zone": settings.TIME_ZONE,
            **context,
        },
        status=200 if form.is_valid() else 400,
    )


def delivery_report_view(request):
    _guard(request)
    form = ReportFilterForm(request.GET)
    tables, chart = [], ""
    if form.is_valid():
        filters = form.cleaned_data["filters"]
        rows = selectors.delivery_rows(filters=filters)
        reasons = selectors.failure_reasons(filters=filters)
        paid = selectors.delivery_paid(filters=filters)
        tables = [
            delivery_table(rows=rows, filters=filters, paid=paid),
            failure_table(reasons=reasons, filters=filters),
        ]
        chart = bar_chart_svg(
            groups=day_series(
                rows=rows, days=filters.days, paid=paid and paid.regroup(lambda key: key[0])
            ),
            series=[*FUNNEL, *(["paid_orders"] if paid else [])],
            title="Daily funnel (messages created that day)",
        )
    return _respond(
        request,
        form=form,
        template="admin/reports/delivery.html",
        title="Delivery report",
        tables=tables,
        filename="delivery-report.csv",
        chart=chart,
    )


def ref_report_view(request):
    _guard(request)
    form = RefReportFilterForm(request.GET)
    tables, chart, report, group_by = [], "", None, "ref"
    if form.is_valid():
        filters = form.cleaned_data["filters"]
        group_by = form.cleaned_data["group_by"] or "ref"
        report = selectors.ref_report(
            filters=filters, group_by=group_by, page=form.cleaned_data["page"] or 1
        )
        paid = selectors.ref_paid(filters=filters, group_by=group_by)
        tables = [ref_table(report=report, group_by=group_by, filters=filters, paid=paid)]
        chart = bar_chart_svg(
            groups=[
                (row[group_by] or "(none)", {**row, **(paid.of(row[group_by]) if paid else {})})
                for row in report.rows[:REF_CHART_GROUPS]
            ],
            series=["total", *FUNNEL, *(["paid_orders"] if paid else [])],
            title=f"Messages by {group_by} (largest {REF_CHART_GROUPS} on this page)",
        )
    return _respond(
        request,
        form=form,
        template="admin/reports/refs.html",
        title="Ref report",
        tables=tables,
        filename=f"ref-report-{group_by}.csv",
        chart=chart,
        report=report,
        page_links=_page_links(request, report),
    )


def _page_links(request, report):
    if report is None or report.pages == 1:
        return []
    links = []
    for page in sorted({1, report.page - 1, report.page, report.page + 1, report.pages}):
        if 1 <= page <= report.pages:
            query = request.GET.copy()
            query["page"] = page
            links.append((page, query.urlencode(), page == report.page))
    return links
