"""Indexes for the admin's callback receipts and inbound events lists (common/changelists.py).

Without blocking writes: every Kaleyra callback stores a receipt and its events, so a plain
CREATE INDEX would hold callbacks back for the whole build. So this migration is not atomic
(atomic = False) and each index is built with CREATE INDEX CONCURRENTLY on PostgreSQL
(common/migration_operations.py): writes go on during the build. A build that fails leaves an
INVALID index, which running `migrate` again drops and builds anew. On SQLite the b-tree indexes
are plain CREATE INDEX and the trigram ones are skipped (its search falls back to LIKE).

- callbackreceipt_received_id, inboundevent_created_id: the lists' order (newest first), and
  deep pages read their ids from the index alone.
- callbackreceipt_truncated: the "truncated" filter's few receipts, newest first.
- inboundevent_type_created: one type's events (the "event type" filter) newest first, without
  walking the others.
- callbackreceipt_rejected_trgm, inboundevent_reference_trgm, inboundevent_phone_trgm: pg_trgm
  GIN indexes for `ILIKE '%part%'` (part of a rejection reason, a reference, a phone number).
"""

from django.db import migrations, models

from common.migration_operations import AddIndexConcurrently, AddTrigramIndex


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("messaging", "0010_rollups"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="callbackreceipt",
            index=models.Index(fields=["received_at", "id"], name="callbackreceipt_received_id"),
        ),
        AddIndexConcurrently(
            model_name="callbackreceipt",
            index=models.Index(
                fields=["received_at", "id"],
                condition=models.Q(truncated=True),
                name="callbackreceipt_truncated",
            ),
        ),
        AddIndexConcurrently(
            model_name="inboundevent",
            index=models.Index(fields=["created_at", "id"], name="inboundevent_created_id"),
        ),
        AddIndexConcurrently(
            model_name="inboundevent",
            index=models.Index(
                fields=["event_type", "created_at", "id"], name="inboundevent_type_created"
            ),
        ),
        AddTrigramIndex(
            model_name="callbackreceipt",
            field="rejected_reason",
            name="callbackreceipt_rejected_trgm",
        ),
        AddTrigramIndex(
            model_name="inboundevent", field="reference", name="inboundevent_reference_trgm"
        ),
        AddTrigramIndex(model_name="inboundevent", field="phone", name="inboundevent_phone_trgm"),
    ]
