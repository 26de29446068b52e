"""How long CSV imports (OrderImport) are kept: the purge run by beat (and `order_imports_purge`).

- A preview not confirmed within ORDER_IMPORT_PREVIEW_TTL seconds has expired: it can no longer
  be confirmed (upload the file again) and is deleted with its file.
- An imported one keeps no file (it is emptied at confirmation: the file is only needed until
  then); its record (file name, who, when, how many orders) is deleted ORDER_IMPORT_RETENTION
  seconds after the import.
- A preview still within its time is never touched.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from ..models import OrderImport


def _preview_expired_before(now):
    return now - timedelta(seconds=settings.ORDER_IMPORT_PREVIEW_TTL)


def order_import_expired(order_import: OrderImport, *, now=None) -> bool:
    """A preview not confirmed within ORDER_IMPORT_PREVIEW_TTL seconds."""
    now = now or timezone.now()
    return (
        order_import.status == OrderImport.Status.PREVIEWED
        and order_import.created_at <= _preview_expired_before(now)
    )


def order_imports_purge(*, now=None) -> dict[str, int]:
    """Delete the expired previews and the imports older than ORDER_IMPORT_RETENTION, and empty
    the file of any import that still has one; the counts."""
    now = now or timezone.now()
    imported = OrderImport.objects.filter(status=OrderImport.Status.IMPORTED)
    expired, _ = OrderImport.objects.filter(
        status=OrderImport.Status.PREVIEWED, created_at__lte=_preview_expired_before(now)
    ).delete()
    old, _ = imported.filter(
        imported_at__lte=now - timedelta(seconds=settings.ORDER_IMPORT_RETENTION)
    ).delete()
    emptied = imported.exclude(content="", checked="").update(content="", checked="")
    return {"previews_expired": expired, "imports_deleted": old, "files_emptied": emptied}
