from django.core.management.base import BaseCommand, CommandError

from coupons.models import Coupon, normalize_code
from messaging.errors import MessagingError
from messaging.services import coupon_code_send

from ._output import queue_result_write


class Command(BaseCommand):
    help = "Queue the coupon code message (COPY_CODE button) to phone numbers."

    def add_arguments(self, parser):
        parser.add_argument("code", metavar="CODE")
        parser.add_argument("--to", action="append", required=True, metavar="PHONE")
        parser.add_argument("--template", default="")
        parser.add_argument("--language", default="")
        parser.add_argument("--ref", default="")
        parser.add_argument("--ref1", default="")
        parser.add_argument("--ref2", default="")

    def handle(self, *args, **options):
        coupon = Coupon.objects.filter(code=normalize_code(options["code"])).first()
        if coupon is None:
            raise CommandError(f"No coupon has the code {options['code']!r}.")
        try:
            result = coupon_code_send(
                coupon=coupon,
                recipients=options["to"],
                template_name=options["template"],
                language=options["language"],
                ref=options["ref"],
                ref1=options["ref1"],
                ref2=options["ref2"],
            )
        except MessagingError as exc:
            raise CommandError(exc.message) from exc
        queue_result_write(self, result)
