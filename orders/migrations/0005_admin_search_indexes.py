"""Indexes for the admin's orders and order history lists (common/changelists.py).

Without blocking writes: with a million orders and several history rows each, a plain CREATE
INDEX would stop checkouts and status changes for the build. So this migration is not atomic
(atomic = False) and each index is built with CREATE INDEX CONCURRENTLY on PostgreSQL
(common/migration_operations.py): writes go on during the build. A build that fails leaves an
INVALID index, which running `migrate` again drops and builds anew. On SQLite the b-tree indexes
are plain CREATE INDEX and the trigram ones are skipped (its search falls back to LIKE).

- order_customer_phone: a phone number typed in any form, normalised to E.164, found exactly.
- order_created_id, orderevent_created_id: deep pages read their ids from the index alone.
- order_reference_trgm, order_name_trgm, order_phone_trgm: pg_trgm GIN indexes for
  `ILIKE '%part%'` (part of a reference, a customer's name or phone number); the operation
  creates the pg_trgm extension first.
"""

from django.db import migrations, models

from common.migration_operations import AddIndexConcurrently, AddTrigramIndex


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("orders", "0004_order_import"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="order",
            index=models.Index(fields=["customer_phone"], name="order_customer_phone"),
        ),
        AddIndexConcurrently(
            model_name="order",
            index=models.Index(fields=["created_at", "id"], name="order_created_id"),
        ),
        AddIndexConcurrently(
            model_name="orderevent",
            index=models.Index(fields=["created_at", "id"], name="orderevent_created_id"),
        ),
        AddTrigramIndex(model_name="order", field="reference_id", name="order_reference_trgm"),
        AddTrigramIndex(model_name="order", field="customer_name", name="order_name_trgm"),
        AddTrigramIndex(model_name="order", field="customer_phone", name="order_phone_trgm"),
    ]
