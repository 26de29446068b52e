"""What each report figure counts, once: as SentMessage lookups (the reports' drill-down links
and the raw aggregation) and as SQL over a delta row's status and flags (the rollups)."""

from django.db.models import Count, Q

from messaging.models import MessageStatus

S = MessageStatus
FIGURE_LOOKUPS = {
    "total": {},
    "queued": {"status__in": [S.QUEUED, S.SENDING]},
    "accepted": {"accepted_at__isnull": False},
    "sent": {"sent_at__isnull": False},
    "delivered": {"delivered_at__isnull": False},
    "read": {"read_at__isnull": False},
    "failed": {"status__exact": S.FAILED},
    "not_sent": {"status__exact": S.NOT_SENT},
}
FIGURES = list(FIGURE_LOOKUPS)


def figure_counts() -> dict:
    """The figures as aggregates of SentMessage rows. Counting created_at (never null) rather
    than the id keeps every column the query needs in the report index, so PostgreSQL answers
    with an index-only scan."""
    return {
        name: Count("created_at", filter=Q(**lookups)) if lookups else Count("created_at")
        for name, lookups in FIGURE_LOOKUPS.items()
    }


# The same figures for a MessageDelta row (status, flags accepted/sent/delivered/read, n).
DELTA_FIGURES_SQL = {
    "total": "{d}n",
    "queued": f"CASE WHEN {{d}}status IN ('{S.QUEUED}', '{S.SENDING}') THEN {{d}}n ELSE 0 END",
    "accepted": "CASE WHEN {d}accepted THEN {d}n ELSE 0 END",
    "sent": "CASE WHEN {d}sent THEN {d}n ELSE 0 END",
    "delivered": "CASE WHEN {d}delivered THEN {d}n ELSE 0 END",
    "read": "CASE WHEN {d}read THEN {d}n ELSE 0 END",
    "failed": f"CASE WHEN {{d}}status = '{S.FAILED}' THEN {{d}}n ELSE 0 END",
    "not_sent": f"CASE WHEN {{d}}status = '{S.NOT_SENT}' THEN {{d}}n ELSE 0 END",
}


def delta_figures_sql(alias: str = "") -> list[str]:
    """The figures' SQL expressions over a delta row (`alias.` prefixed), in FIGURES order."""
    prefix = f"{alias}." if alias else ""
    return [DELTA_FIGURES_SQL[name].format(d=prefix) for name in FIGURES]


def delta_figures(*, status: str, accepted, sent, delivered, read, n: int) -> list[int]:
    """The same in Python (the SQLite fold), in FIGURES order."""
    return [
        n,
        n if status in (S.QUEUED, S.SENDING) else 0,
        n if accepted else 0,
        n if sent else 0,
        n if delivered else 0,
        n if read else 0,
        n if status == S.FAILED else 0,
        n if status == S.NOT_SENT else 0,
    ]
