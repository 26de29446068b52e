"""Moving messages' statuses with one UPDATE and telling the status hooks (status_hooks.py).

`messages_status_move` locks the rows a queryset selects, updates them to the new status (and
other fields) and calls `message_statuses_changed` with one StatusChange per row, all in one
transaction. Hot paths that already select or update in bulk build their StatusChanges
themselves (sending's claim and acceptance writer)."""

from django.db import transaction
from django.utils import timezone

from .models import SentMessage
from .status_hooks import StatusChange, message_statuses_changed


def messages_status_move(*, messages, status: str, at=None, **fields) -> int:
    """Move the messages `messages` (a SentMessage queryset, filtered by their current status)
    to `status`, with `fields` updated too. Returns how many moved."""
    at = at or timezone.now()
    with transaction.atomic():
        rows = list(
            messages.select_for_update().values_list("pk", "batch_id", "order_id", "status")
        )
        if not rows:
            return 0
        moved = SentMessage.objects.filter(pk__in=[row[0] for row in rows]).update(
            status=status, **fields
        )
        message_statuses_changed(
            changes=[
                StatusChange(pk, batch_id, order_id, before, status, at)
                for pk, batch_id, order_id, before in rows
                if before != status
            ]
        )
    return moved
