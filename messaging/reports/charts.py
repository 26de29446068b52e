"""Grouped bar charts as inline SVG, drawn on the server (no JavaScript, no build step)."""

from html import escape

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from .tables import FIGURE_HEADERS, PAID_HEADERS

FUNNEL = ["accepted", "sent", "delivered", "read", "failed"]
COLOURS = {
    "total": "#9aa5b1",
    "accepted": "#79aec8",
    "sent": "#417690",
    "delivered": "#2e7d32",
    "read": "#66bb6a",
    "failed": "#ba2121",
    "paid_orders": "#f5a623",
}
LABELS = {**FIGURE_HEADERS, "paid_orders": PAID_HEADERS[0]}
HEIGHT = 220
TOP = 16
BOTTOM = 40
LEFT = 48
BAR = 9
MAX_BAR = 24
PLOT_WIDTH = 560
GAP = 14
LABEL_CHARS = 14


def bar_chart_svg(*, groups: list[tuple[str, dict]], series: list[str], title: str) -> SafeString:
    """One group of bars per (label, figures) pair, one bar per figure in `series`."""
    peak = max([figures[name] for _, figures in groups for name in series] + [1])
    plot = HEIGHT - TOP - BOTTOM
    # Bars widen to fill about PLOT_WIDTH when there are few groups.
    bar = max(BAR, min(MAX_BAR, int((PLOT_WIDTH / max(len(groups), 1) - GAP) / len(series))))
    group_width = bar * len(series) + GAP
    width = LEFT + group_width * max(len(groups), 1) + GAP
    parts = []
    for index, (label, figures) in enumerate(groups):
        x0 = LEFT + GAP + index * group_width
        # Plain formatting with the label escaped once (format_html per bar was most of the
        # chart's time on a 30-day report); every other value is a number or our constant.
        safe_label = escape(label)
        for offset, name in enumerate(series):
            value = figures[name]
            height = round(plot * value / peak, 1)
            parts.append(
                f'<rect class="bar" x="{x0 + offset * bar}" y="{round(TOP + plot - height, 1)}" '
                f'width="{bar - 1}" height="{height}" fill="{COLOURS[name]}" '
                f'data-group="{safe_label}" data-figure="{name}" data-value="{value}">'
                f"<title>{safe_label}: {value} {escape(LABELS[name].lower())}</title></rect>"
            )
        short = label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"
        parts.append(
            f'<text x="{x0 + bar * len(series) / 2}" y="{HEIGHT - BOTTOM + 14}" font-size="10" '
            f'text-anchor="middle">{escape(short)}</text>'
        )
    legend = format_html_join(
        "",
        '<rect x="{}" y="{}" width="9" height="9" fill="{}"></rect>'
        '<text x="{}" y="{}" font-size="10">{}</text>',
        (
            (
                LEFT + i * 80,
                HEIGHT - 12,
                COLOURS[name],
                LEFT + i * 80 + 12,
                HEIGHT - 3,
                LABELS[name],
            )
            for i, name in enumerate(series)
        ),
    )
    axis = format_html(
        '<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#999"></line>'
        '<line x1="{0}" y1="{2}" x2="{3}" y2="{2}" stroke="#999"></line>'
        '<text x="{4}" y="{5}" font-size="10" text-anchor="end">{6}</text>'
        '<text x="{4}" y="{2}" font-size="10" text-anchor="end">0</text>',
        LEFT,
        TOP,
        TOP + plot,
        width,
        LEFT - 4,
        TOP + 4,
        peak,
    )
    return format_html(
        '<svg class="report-chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        'width="{}" height="{}" viewBox="0 0 {} {}" aria-label="{}"><title>{}</title>{}{}{}</svg>',
        max(width, LEFT + 80 * len(series)),
        HEIGHT,
        max(width, LEFT + 80 * len(series)),
        HEIGHT,
        title,
        title,
        axis,
        mark_safe("".join(parts)),  # noqa: S308 (every part's text is escaped above)
        legend,
    )
