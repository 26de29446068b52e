from django.core.management.base import BaseCommand

from orders.csv_import.retention import order_imports_purge


class Command(BaseCommand):
    help = (
        "Delete the CSV import previews not confirmed within ORDER_IMPORT_PREVIEW_TTL and the "
        "imports older than ORDER_IMPORT_RETENTION (with their files)."
    )

    def handle(self, *args, **options):
        counts = order_imports_purge()
        self.stdout.write(
            f"{counts['previews_expired']} expired preview(s) and {counts['imports_deleted']} "
            f"old import(s) deleted; {counts['files_emptied']} imported file(s) emptied."
        )
