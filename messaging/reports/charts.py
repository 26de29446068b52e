"""Grouped bar charts as inline SVG, drawn on the server (no JavaScript, no build step)."""

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
        for offset, name in enumerate(series):
            value = figures[name]
            height = round(plot * value / peak, 1)
            parts.append(
                format_html(
                    '<rect class="bar" x="{}" y="{}" width="{}" height="{}" fill="{}" '
                    'data-group="{}" data-figure="{}" data-value="{}"><title>{}: {} {}</title>'
                    "</rect>",
                    x0 + offset * bar,
                    round(TOP + plot - height, 1),
                    bar - 1,
                    height,
                    COLOURS[name],
                    label,
                    name,
                    value,
                    label,
                    value,
                    LABELS[name].lower(),
                )
            )
        short = label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"
        parts.append(
            format_html(
                '<text x="{}" y="{}" font-size="10" text-anchor="middle">{}</text>',
                x0 + bar * len(series) / 2,
                HEIGHT - BOTTOM + 14,
                short,
            )
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
        mark_safe("".join(parts)),  # noqa: S308 (every part is built by format_html)
        legend,
    )
