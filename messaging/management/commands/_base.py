"""What the send commands share: options, errors, and printing what was queued and refused."""

from common.commands import DomainCommand
from orders.selectors import order_get_by_reference


class SendCommand(DomainCommand):
    def add_arguments(self, parser):
        parser.add_argument("--template", default="", help="Template name (default: settings).")
        parser.add_argument("--language", default="", help="Template language (default: en_US).")
        parser.add_argument("--ref", default="", help="extra_info.ref (default: per message).")
        parser.add_argument("--ref1", default="", help="extra_info.ref1 (default: the kind).")
        parser.add_argument("--ref2", default="", help="extra_info.ref2 (default: the batch).")

    def send(self, options, refused: list[str]):
        """Queue the messages; append 'target: reason' lines for what was not found."""
        raise NotImplementedError

    def handle(self, *args, **options):
        missing = []
        result = self.send(options, missing)  # a refusal: DomainCommand's CommandError
        if result.batch is not None:
            self.stdout.write(
                f"Queued {len(result.messages)} message(s) in batch #{result.batch.pk} "
                f"'{result.batch.name}'."
            )
            for message in result.messages:
                self.stdout.write(f"  queued  {message.recipient}  ref={message.ref}")
        else:
            self.stdout.write("Nothing queued.")
        for refusal in result.refused:
            self.stdout.write(f"  refused {refusal.target}: {refusal.reason}")
        for line in missing:
            self.stdout.write(f"  refused {line}")

    @staticmethod
    def message_options(options) -> dict:
        return {
            "template_name": options["template"],
            "language": options["language"],
            "ref": options["ref"],
            "ref1": options["ref1"],
            "ref2": options["ref2"],
        }

    @staticmethod
    def orders_find(reference_ids, missing: list[str]):
        orders = []
        for reference_id in reference_ids:
            order = order_get_by_reference(reference_id=reference_id)
            if order is None:
                missing.append(f"{reference_id}: no order has this reference id.")
            else:
                orders.append(order)
        return orders
