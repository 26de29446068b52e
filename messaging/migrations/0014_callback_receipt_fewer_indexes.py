"""Two indexes fewer to keep up on every callback's INSERT (Kaleyra's callbacks come at about
three per message sent):

- received_at's own index: callbackreceipt_received_id (received_at, id) serves every query on
  received_at as well;
- body_sha256's `varchar_pattern_ops` index, which Django adds beside a CharField's db_index for
  LIKE 'prefix%': the admin finds a body's hash by equality only. Its plain b-tree is rebuilt
  as callbackreceipt_sha256 (CREATE INDEX CONCURRENTLY on PostgreSQL, so this migration is not
  atomic: callbacks are stored during the build) before the old two are dropped.
"""

from django.db import migrations, models

from common.migration_operations import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("messaging", "0013_callback_receipt_parsed_at"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="callbackreceipt",
            index=models.Index(fields=["body_sha256"], name="callbackreceipt_sha256"),
        ),
        migrations.AlterField(
            model_name="callbackreceipt",
            name="body_sha256",
            field=models.CharField(max_length=64),
        ),
        migrations.AlterField(
            model_name="callbackreceipt",
            name="received_at",
            field=models.DateTimeField(auto_now_add=True),
        ),
    ]
