from django.core.management.base import BaseCommand

from config.demo import DEMO_ADMIN_PASSWORD, DEMO_ADMIN_USERNAME, demo_load


class Command(BaseCommand):
    help = "Create the demo data (the reference's sample order and coupons); safe to run again."

    def handle(self, *args, **options):
        created = demo_load()
        self.stdout.write(
            f"Demo data: {created['orders']} orders and {created['coupons']} coupons created"
            f"{', admin user created' if created['admin'] else ''}."
        )
        self.stdout.write(f"Admin login: {DEMO_ADMIN_USERNAME} / {DEMO_ADMIN_PASSWORD}")
