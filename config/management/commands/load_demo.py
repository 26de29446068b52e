from common.commands import DomainCommand
from config.demo import DEMO_ADMIN_PASSWORD, DEMO_ADMIN_USERNAME, demo_load


class Command(DomainCommand):
    help = "Create the demo data (the reference's sample order and coupons); safe to run again."

    def handle(self, *args, **options):
        created = demo_load()
        self.stdout.write(
            f"Demo data: {created['orders']} orders and {created['coupons']} coupons created"
            f"{', admin user created' if created['admin'] else ''}; "
            f"{created['templates']} message templates registered."
        )
        self.stdout.write(f"Admin login: {DEMO_ADMIN_USERNAME} / {DEMO_ADMIN_PASSWORD}")
