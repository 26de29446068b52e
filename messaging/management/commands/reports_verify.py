from datetime import date, timedelta

from django.core.management.base import CommandError

from common.commands import DomainCommand
from messaging.reports.forms import MAX_DAYS
from messaging.reports.selectors import shop_today
from messaging.rollups.verify import reports_repair, reports_verify


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--day must be a date as YYYY-MM-DD, not {value!r}.") from None


class Command(DomainCommand):
    help = (
        "Recompute report days from the raw messages and compare them with the rollups (and the "
        "batch counts of the batches with messages on those days); prints every difference and "
        "exits 1 when there is one. --repair rewrites the rollups of those days."
    )

    def add_arguments(self, parser):
        parser.add_argument("--day", default="", help="the last day (YYYY-MM-DD); default today")
        parser.add_argument("--days", type=int, default=1, help="how many days up to --day")
        parser.add_argument("--repair", action="store_true")

    def handle(self, *args, day, days, repair, **options):
        last = _day(day) if day else shop_today()
        if not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--days must be between 1 and {MAX_DAYS}, not {days}.")
        first = last - timedelta(days=days - 1)
        span = f"{first.isoformat()} .. {last.isoformat()}"
        differences = reports_verify(first=first, last=last)
        if not differences:
            self.stdout.write(f"Rollups equal the messages for {span}.")
            return
        for difference in differences:
            self.stdout.write(str(difference))
        if not repair:
            raise CommandError(
                f"{len(differences)} difference(s) for {span}; --repair rewrites those days."
            )
        reports_repair(first=first, last=last)
        left = reports_verify(first=first, last=last)
        if left:
            raise CommandError(f"{len(left)} difference(s) remain after the repair.")
        self.stdout.write(f"Repaired: {len(differences)} difference(s) fixed for {span}.")
