from common.commands import DomainCommand
from messaging.rollups.fold import rollups_fold, rollups_rebuild


class Command(DomainCommand):
    help = (
        "Fold the batch counts' and reports' deltas into the rollups now (the beat task does it "
        "every ROLLUPS_FOLD_SECONDS). --rebuild: every rollup again from the messages, in "
        "SHOP_TIME_ZONE (after changing it); message writes wait meanwhile."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true")

    def handle(self, *args, rebuild, **options):
        if rebuild:
            folded = rollups_rebuild()
            self.stdout.write(f"Rollups rebuilt from the messages ({folded} delta row(s)).")
        else:
            folded = rollups_fold()
            self.stdout.write(f"{folded} delta row(s) folded into the rollups.")
