from django.core.management.base import BaseCommand

from common.outbound.retention import outbound_events_purge


class Command(BaseCommand):
    help = (
        "Delete the outgoing webhook events (with their deliveries and attempts) whose every "
        "delivery finished more than WEBHOOK_RETENTION seconds ago; pending ones are kept."
    )

    def handle(self, *args, **options):
        self.stdout.write(f"{outbound_events_purge()} webhook event(s) deleted.")
