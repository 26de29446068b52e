from django.core.management.base import CommandError

from coupons.models import Coupon, normalize_code
from messaging.services import coupon_code_send

from ._base import SendCommand


class Command(SendCommand):
    help = "Queue the coupon code message (COPY_CODE button) to phone numbers."

    def add_arguments(self, parser):
        parser.add_argument("code", metavar="CODE")
        parser.add_argument("--to", action="append", required=True, metavar="PHONE")
        super().add_arguments(parser)

    def send(self, options, missing):
        coupon = Coupon.objects.filter(code=normalize_code(options["code"])).first()
        if coupon is None:
            raise CommandError(f"No coupon has the code {options['code']!r}.")
        return coupon_code_send(
            coupon=coupon, recipients=options["to"], **self.message_options(options)
        )
