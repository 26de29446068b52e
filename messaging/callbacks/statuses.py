"""Kaleyra's callback statuses normalised into ours, and the order a message moves through.

A message's status only moves forward. `failed` and `not_sent` sit below `delivered` so that a
delivery always wins over a failure (the contradiction is flagged as an anomaly), and above the
step they can follow (a late `sent` does not undo a `failed`).
"""

from messaging.models import MessageStatus as S

PROVIDER_STATUSES = {
    "sent": S.SENT,
    "delivered": S.DELIVERED,
    "read": S.READ,
    "failed": S.FAILED,
    "not-sent": S.NOT_SENT,
    "not_sent": S.NOT_SENT,
    "notsent": S.NOT_SENT,
}

RANK = {
    S.QUEUED: 0,
    S.SENDING: 0,
    S.UNKNOWN: 0,
    S.ACCEPTED: 1,
    S.NOT_SENT: 2,
    S.SENT: 3,
    S.FAILED: 4,
    S.DELIVERED: 5,
    S.READ: 6,
}

FAILURES = frozenset({S.FAILED, S.NOT_SENT})

# The timestamp each status sets, and the earlier steps it implies (read implies delivered).
TIMESTAMP_FIELDS = {
    S.SENT: ("sent_at",),
    S.DELIVERED: ("delivered_at", "sent_at"),
    S.READ: ("read_at", "delivered_at", "sent_at"),
    S.FAILED: ("failed_at",),
    S.NOT_SENT: ("failed_at",),
}


def status_normalise(value: str) -> str | None:
    """Our status for a provider's status string, or None when it is not one we know."""
    return PROVIDER_STATUSES.get(value.strip().lower())
