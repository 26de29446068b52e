from messaging.services import order_details_send
from orders.models import EventSource

from ._base import SendCommand


class Command(SendCommand):
    help = "Queue the order details (checkout) message for orders, by reference id."

    def add_arguments(self, parser):
        parser.add_argument("reference_ids", nargs="+", metavar="REFERENCE_ID")
        parser.add_argument("--header-image", default="", help="Header image URL (optional).")
        super().add_arguments(parser)

    def send(self, options, missing):
        return order_details_send(
            orders=self.orders_find(options["reference_ids"], missing),
            header_image_url=options["header_image"],
            source=EventSource.COMMAND,
            **self.message_options(options),
        )
