from common.commands import DomainCommand
from coupons.services import coupon_reservations_release_expired


class Command(DomainCommand):
    help = (
        "Release the coupons held by pending orders past their expiry, so they stop counting "
        "against the coupons' limits. Run it every few minutes (cron or a scheduler)."
    )

    def handle(self, *args, **options):
        settled = coupon_reservations_release_expired()
        self.stdout.write(f"Released the coupons of {settled} expired orders.")
