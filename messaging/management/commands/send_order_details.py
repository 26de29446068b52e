from django.core.management.base import BaseCommand, CommandError

from messaging.errors import MessagingError
from messaging.services import order_details_send
from orders.models import EventSource
from orders.selectors import order_get_by_reference

from ._output import queue_result_write


class Command(BaseCommand):
    help = "Queue the order details (checkout) message for orders, by reference id."

    def add_arguments(self, parser):
        parser.add_argument("reference_ids", nargs="+", metavar="REFERENCE_ID")
        parser.add_argument("--template", default="")
        parser.add_argument("--language", default="")
        parser.add_argument("--header-image", default="")
        parser.add_argument("--ref", default="")
        parser.add_argument("--ref1", default="")
        parser.add_argument("--ref2", default="")

    def handle(self, *args, **options):
        orders, missing = orders_find(options["reference_ids"])
        try:
            result = order_details_send(
                orders=orders,
                template_name=options["template"],
                language=options["language"],
                header_image_url=options["header_image"],
                ref=options["ref"],
                ref1=options["ref1"],
                ref2=options["ref2"],
                source=EventSource.COMMAND,
            )
        except MessagingError as exc:
            raise CommandError(exc.message) from exc
        queue_result_write(self, result)
        for reference_id in missing:
            self.stdout.write(f"  refused {reference_id}: no order has this reference id.")


def orders_find(reference_ids):
    orders, missing = [], []
    for reference_id in reference_ids:
        order = order_get_by_reference(reference_id=reference_id)
        if order is None:
            missing.append(reference_id)
        else:
            orders.append(order)
    return orders, missing
