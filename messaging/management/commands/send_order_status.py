from messaging.payloads import ORDER_STATUS_VALUES
from messaging.services import order_status_send
from orders.models import EventSource

from ._base import SendCommand


class Command(SendCommand):
    help = "Move orders to a new status and queue the order status message to their customers."

    def add_arguments(self, parser):
        parser.add_argument("reference_ids", nargs="+", metavar="REFERENCE_ID")
        parser.add_argument(
            "--status", required=True, choices=[str(status) for status in ORDER_STATUS_VALUES]
        )
        parser.add_argument("--description", default="", help="At most 120 characters.")
        super().add_arguments(parser)

    def send(self, options, missing):
        return order_status_send(
            orders=self.orders_find(options["reference_ids"], missing),
            status=options["status"],
            description=options["description"],
            source=EventSource.COMMAND,
            **self.message_options(options),
        )
