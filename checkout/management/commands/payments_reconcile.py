from django.core.management.base import CommandError

from checkout.payments.reconcile import order_payment_check, payments_reconcile
from common.commands import DomainCommand
from orders.selectors import order_get_by_reference


class Command(DomainCommand):
    help = (
        "Ask Kaleyra's Get Payment Status API for the orders whose checkout was used but whose "
        "payment is unknown after PAYMENT_LOOKUP_AFTER (with backoff, until the order expires). "
        "The periodic job does the same every 5 minutes. Given order references (the order's "
        "own or a resend's), look those orders up now instead, as the order list's action "
        "'Check payment status' does."
    )

    def add_arguments(self, parser):
        parser.add_argument("reference_ids", nargs="*", metavar="REFERENCE")

    def handle(self, *args, **options):
        if options["reference_ids"]:
            results = [
                order_payment_check(order=order) for order in self._orders(options["reference_ids"])
            ]
        else:
            results = payments_reconcile()
        for result in results:
            self.stdout.write(f"{result.order.reference_id}: {result.outcome}: {result.note}")
        self.stdout.write("Done.")

    def _orders(self, reference_ids):
        orders, missing = [], []
        for reference_id in reference_ids:
            order = order_get_by_reference(reference_id=reference_id)
            if order is None:
                missing.append(reference_id)
            elif order not in orders:
                orders.append(order)
        if missing:
            raise CommandError(
                f"No order with the reference {', '.join(missing)}; nothing looked up."
            )
        return orders
