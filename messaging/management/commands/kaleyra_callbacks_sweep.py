from common.commands import DomainCommand
from messaging.callbacks.services import SWEEP_BATCH, callback_events_sweep


class Command(DomainCommand):
    help = (
        "Apply Kaleyra callback events that were stored but not processed, and match waiting "
        "ones whose message id is now known. Safe to run any time (e.g. every few minutes)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=SWEEP_BATCH)

    def handle(self, *args, limit, **options):
        applied = callback_events_sweep(limit=limit)
        self.stdout.write(f"{applied} callback event(s) applied to their messages.")
