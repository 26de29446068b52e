"""Report figures as tables of display text and drill-down links. The HTML page and the CSV
render the same Table objects, so the CSV is exactly what is on screen."""

from dataclasses import dataclass, field
from datetime import date
from html import escape
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from messaging.models import MessageKind
from orders.money import format_money

from .selectors import (
    FIGURE_LOOKUPS,
    FIGURES,
    ReportFilters,
    day_range_lookups,
    figures_sum,
    rate,
)

FIGURE_HEADERS = {
    "total": "Messages",
    "queued": "Queued",
    "accepted": "Accepted",
    "sent": "Sent",
    "delivered": "Delivered",
    "read": "Read",
    "failed": "Failed",
    "not_sent": "Not sent",
}
RATE_HEADERS = ["Delivery rate", "Read rate"]
PAID_HEADERS = ["Paid orders", "Revenue (₹)"]
FIGURE_DEFINITIONS = [
    ("Day", "the day the message was created (queued), in the shop's time zone."),
    ("Messages", "every message created in the period, whatever its status."),
    ("Queued", "not handed to Kaleyra yet (status queued or sending)."),
    ("Accepted", "Kaleyra accepted the send request (it has an accepted time)."),
    (
        "Sent / Delivered / Read",
        "the message reached that step, whatever came after: WhatsApp reported it or a later "
        "step (read implies delivered, delivered implies sent).",
    ),
    (
        "Failed",
        "the message's status is failed. A failure reported after a delivery does not count: "
        "the message stays delivered and is flagged as an anomaly.",
    ),
    ("Not sent", "Kaleyra never passed the message to WhatsApp (status not sent)."),
    ("Delivery rate", "delivered / accepted."),
    ("Read rate", "read / delivered."),
]
PAID_DEFINITIONS = [
    (
        "Paid orders",
        "orders with a captured payment that a message of the row carried a reference of (the "
        "order's own or a resend's), whenever the payment came. An order whose messages fall in "
        "several rows counts in each row, once per row; the total counts it once.",
    ),
    (
        "Revenue (₹)",
        "what those orders' captured payments brought in, minus what was refunded (a fully "
        "refunded order still counts as paid, with ₹0.00).",
    ),
]
NONE_LABEL = "(none)"
# Rows a table shows on the page; the CSV has them all (the page says how many it leaves out).
HTML_ROWS = 1000


@dataclass(frozen=True)
class Cell:
    text: str
    url: str = ""
    numeric: bool = False

    @property
    def html(self) -> str:
        """The table cell, built here rather than in the template, with plain string
        formatting (reports have thousands of cells: Django's format_html per cell and a
        template variable per cell were most of a page's time). The same escaping as Django's
        `escape` (html.escape with quotes)."""
        content = escape(self.text)
        if self.url:
            content = f'<a href="{escape(self.url)}">{content}</a>'
        return f'<td class="num">{content}</td>' if self.numeric else f"<td>{content}</td>"


def _rows_html(rows: list[list[Cell]]) -> SafeString:
    # Each cell's text and link is escaped in Cell.html.
    return mark_safe(  # noqa: S308
        "\n".join(f"<tr>{''.join(cell.html for cell in row)}</tr>" for row in rows)
    )


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    footer: list[list[Cell]] = field(default_factory=list)

    @property
    def rows_html(self) -> SafeString:
        """The first HTML_ROWS rows as HTML (the page's rows; the CSV has every row)."""
        return _rows_html(self.rows[:HTML_ROWS])

    @property
    def rows_shown(self) -> int:
        return min(len(self.rows), HTML_ROWS)

    @property
    def rows_left_out(self) -> int:
        """Rows the page leaves out (they are in the CSV)."""
        return len(self.rows) - self.rows_shown

    @property
    def footer_html(self) -> SafeString:
        return _rows_html(self.footer)


def changelist_path() -> str:
    return reverse("admin:messaging_sentmessage_changelist")


def changelist_url(path: str, lookups: dict) -> str:
    """The SentMessage admin list (at `path`) filtered by these lookups."""
    params = {}
    for key, value in lookups.items():
        if isinstance(value, list | tuple):
            value = ",".join(str(v) for v in value)
        params[key] = str(value)
    return f"{path}?{urlencode(params)}"


# Each figure's own lookups, encoded once: a report has thousands of cells, and encoding each
# link's whole query was most of a page's time. A row's lookups never share a key with these.
_FIGURE_QUERIES = {
    name: changelist_url("", lookups).removeprefix("?") for name, lookups in FIGURE_LOOKUPS.items()
}


def _figure_cells(figures: dict, lookups: dict, path: str) -> list[Cell]:
    """The figures' cells, each linking to the list `changelist_url(path, {**lookups,
    **FIGURE_LOOKUPS[name]})` names (the row's query encoded once, the figure's added)."""
    row = changelist_url(path, lookups)
    cells = [
        Cell(
            str(figures[name]),
            f"{row}&{_FIGURE_QUERIES[name]}" if _FIGURE_QUERIES[name] else row,
            True,
        )
        for name in FIGURES
    ]
    for value in (
        rate(figures["delivered"], figures["accepted"]),
        rate(figures["read"], figures["delivered"]),
    ):
        cells.append(Cell("—" if value is None else f"{value:.1f}%", numeric=True))
    return cells


def _paid_cells(figures: dict | None) -> list[Cell]:
    """Paid orders and revenue, after the message figures (the CSV's last columns); nothing
    when no payment figures are registered (paid.report_figures_register)."""
    if figures is None:
        return []
    return [
        Cell(str(figures["paid_orders"]), numeric=True),
        Cell(format_money(figures["revenue"]), numeric=True),
    ]


_KIND_LABELS = {kind.value: kind.label for kind in MessageKind}


def _kind_label(kind: str) -> str:
    return str(_KIND_LABELS.get(kind, kind))


def delivery_table(*, rows: list[dict], filters: ReportFilters, paid=None) -> Table:
    """`paid`: the PaidFigures by (day, kind, template), or None to leave them out."""
    base, path = filters.lookups(), changelist_path()
    table = Table(
        title="By day, kind and template",
        headers=[
            "Day",
            "Kind",
            "Template",
            *FIGURE_HEADERS.values(),
            *RATE_HEADERS,
            *(PAID_HEADERS if paid else []),
        ],
    )
    for row in rows:
        lookups = {
            **base,
            **day_range_lookups(row["day"], row["day"]),
            "kind__exact": row["kind"],
            "template_name__exact": row["template_name"],
        }
        table.rows.append(
            [
                Cell(row["day"].isoformat()),
                Cell(_kind_label(row["kind"])),
                Cell(row["template_name"] or NONE_LABEL),
                *_figure_cells(row, lookups, path),
                *_paid_cells(paid and paid.of((row["day"], row["kind"], row["template_name"]))),
            ]
        )
    table.footer.append(
        [
            Cell("Total"),
            Cell(""),
            Cell(""),
            *_figure_cells(figures_sum(rows), base, path),
            *_paid_cells(paid and paid.totals),
        ]
    )
    return table


def failure_table(*, reasons: list[dict], filters: ReportFilters) -> Table:
    table = Table(title="Top failure reasons", headers=["Error code", "Reason", "Failed"])
    path = changelist_path()
    for reason in reasons:
        lookups = {
            **filters.lookups(),
            **FIGURE_LOOKUPS["failed"],
            "error_code__exact": reason["error_code"],
            "error_title__exact": reason["error_title"],
        }
        table.rows.append(
            [
                Cell(reason["error_code"] or NONE_LABEL),
                Cell(reason["error_title"] or NONE_LABEL),
                Cell(str(reason["count"]), changelist_url(path, lookups), True),
            ]
        )
    return table


def ref_table(*, report, group_by: str, filters: ReportFilters, paid=None) -> Table:
    """`paid`: the PaidFigures by value of `group_by`, or None to leave them out."""
    base, path = filters.lookups(), changelist_path()
    table = Table(
        title=f"By {group_by}",
        headers=[
            group_by,
            *FIGURE_HEADERS.values(),
            *RATE_HEADERS,
            *(PAID_HEADERS if paid else []),
        ],
    )
    for row in report.rows:
        lookups = {**base, f"{group_by}__exact": row[group_by]}
        table.rows.append(
            [
                Cell(row[group_by] or NONE_LABEL, changelist_url(path, lookups)),
                *_figure_cells(row, lookups, path),
                *_paid_cells(paid and paid.of(row[group_by])),
            ]
        )
    table.footer.append(
        [
            Cell(f"Total ({report.groups} groups)"),
            *_figure_cells(report.totals, base, path),
            *_paid_cells(paid and paid.totals),
        ]
    )
    return table


def day_series(*, rows: list[dict], days: list[date], paid=None) -> list[tuple[str, dict]]:
    """The daily funnel for the chart: every day of the range, summed over kinds and templates;
    with `paid` (PaidFigures by day), each day's paid orders too (each order once a day)."""
    by_day = {day: [] for day in days}
    for row in rows:
        by_day.setdefault(row["day"], []).append(row)
    series = []
    for day, day_rows in by_day.items():
        figures = figures_sum(day_rows)
        if paid:
            figures["paid_orders"] = paid.of(day)["paid_orders"]
        series.append((day.strftime("%d %b"), figures))
    return series
