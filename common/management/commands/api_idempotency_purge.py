from django.core.management.base import BaseCommand

from common.api.idempotency import idempotency_records_purge


class Command(BaseCommand):
    help = "Delete the stored Idempotency-Key answers older than API_IDEMPOTENCY_TTL."

    def handle(self, *args, **options):
        self.stdout.write(f"{idempotency_records_purge()} idempotency record(s) deleted.")
