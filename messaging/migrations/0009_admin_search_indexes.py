"""Indexes for the admin's sent messages and send batches lists (common/changelists.py).

Without blocking writes: sentmessage holds millions of rows, and a plain CREATE INDEX would
stop every queued message and stored callback for the minutes the build takes. So this
migration is not atomic (atomic = False) and each index is built with CREATE INDEX
CONCURRENTLY on PostgreSQL (common/migration_operations.py): writes go on during the build. A
build that fails (a deadlock, a cancel) leaves an INVALID index, which running `migrate` again
drops and builds anew. On SQLite the b-tree indexes are plain CREATE INDEX and the trigram ones
are skipped (its search falls back to LIKE).

- sentmessage_recipient: a phone number typed in any form, normalised to E.164, found exactly.
- sentmessage_created_id: deep pages read their ids from the index alone, in the list's order.
- sentmessage_batch_created, sentmessage_status_created: one batch's (one status's) messages
  newest first, without walking the others (a rare status read 20,000 rows for a page).
- sentmessage_recipient_trgm, sentmessage_ref_trgm, sendbatch_name_trgm: pg_trgm GIN indexes
  for `ILIKE '%part%'` (part of a phone number, a ref, a batch name); the operation creates the
  pg_trgm extension first.
"""

from django.db import migrations, models

from common.migration_operations import AddIndexConcurrently, AddTrigramIndex


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("messaging", "0008_message_templates"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="sentmessage",
            index=models.Index(fields=["recipient"], name="sentmessage_recipient"),
        ),
        AddIndexConcurrently(
            model_name="sentmessage",
            index=models.Index(fields=["created_at", "id"], name="sentmessage_created_id"),
        ),
        AddIndexConcurrently(
            model_name="sentmessage",
            index=models.Index(
                fields=["batch", "created_at", "id"], name="sentmessage_batch_created"
            ),
        ),
        AddIndexConcurrently(
            model_name="sentmessage",
            index=models.Index(
                fields=["status", "created_at", "id"], name="sentmessage_status_created"
            ),
        ),
        AddTrigramIndex(
            model_name="sentmessage", field="recipient", name="sentmessage_recipient_trgm"
        ),
        AddTrigramIndex(model_name="sentmessage", field="ref", name="sentmessage_ref_trgm"),
        AddTrigramIndex(model_name="sendbatch", field="name", name="sendbatch_name_trgm"),
    ]
