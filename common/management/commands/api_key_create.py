from common.api.keys import api_key_create
from common.commands import DomainCommand
from common.models import ApiScope


class Command(DomainCommand):
    help = (
        "Make an API key for /api/v1/ and print it once (only its hash is stored). "
        "Use it as 'Authorization: Api-Key <key>'."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="Whose system uses the key, e.g. 'storefront'.")
        parser.add_argument(
            "--scope",
            action="append",
            choices=ApiScope.values,
            dest="scopes",
            help="read, write or send; repeat for several (default: read and write).",
        )

    def handle(self, *args, **options):
        api_key, key = api_key_create(name=options["name"], scopes=options["scopes"])
        self.stderr.write(
            f"API key '{api_key.name}' ({api_key.prefix}, scopes {', '.join(api_key.scopes)}). "
            "It is shown only now: store it safely."
        )
        self.stdout.write(key)
