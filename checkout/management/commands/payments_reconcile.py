from checkout.payments.reconcile import payments_reconcile
from common.commands import DomainCommand


class Command(DomainCommand):
    help = (
        "Ask Kaleyra's Get Payment Status API for the orders whose checkout was used but whose "
        "payment is unknown after PAYMENT_LOOKUP_AFTER (with backoff, until the order expires). "
        "The periodic job does the same every 5 minutes."
    )

    def handle(self, *args, **options):
        for result in payments_reconcile():
            self.stdout.write(f"{result.order.reference_id}: {result.outcome}: {result.note}")
        self.stdout.write("Done.")
