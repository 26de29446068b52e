from django.core.management.base import BaseCommand, CommandError

from messaging.errors import MessagingError
from messaging.payloads import ORDER_STATUS_VALUES
from messaging.services import order_status_send
from orders.models import EventSource

from ._output import queue_result_write
from .send_order_details import orders_find


class Command(BaseCommand):
    help = "Move orders to a new status and queue the order status message to their customers."

    def add_arguments(self, parser):
        parser.add_argument("reference_ids", nargs="+", metavar="REFERENCE_ID")
        parser.add_argument(
            "--status", required=True, choices=[str(s) for s in ORDER_STATUS_VALUES]
        )
        parser.add_argument("--description", default="")
        parser.add_argument("--template", default="")
        parser.add_argument("--language", default="")
        parser.add_argument("--ref", default="")
        parser.add_argument("--ref1", default="")
        parser.add_argument("--ref2", default="")

    def handle(self, *args, **options):
        orders, missing = orders_find(options["reference_ids"])
        try:
            result = order_status_send(
                orders=orders,
                status=options["status"],
                description=options["description"],
                template_name=options["template"],
                language=options["language"],
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
