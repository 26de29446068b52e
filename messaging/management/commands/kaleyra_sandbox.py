import time

from django.conf import settings
from django.core.management.base import BaseCommand

from messaging.sandbox import FAULTS, KaleyraSandbox, SandboxConfig


class Command(BaseCommand):
    help = (
        "Run a local stand-in for Kaleyra's WhatsApp v2 send API (strict about the payload; "
        "posts status callbacks; injects faults; pays a reference on POST /_sandbox/pay and posts "
        "Kaleyra's payment webhook). Point KALEYRA_API_BASE_URL at it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8099)
        parser.add_argument("--sid", default=settings.KALEYRA_SID or "SANDBOXSID")
        parser.add_argument("--api-key", default=settings.KALEYRA_API_KEY or "sandbox-api-key")
        parser.add_argument("--number", default=settings.KALEYRA_WHATSAPP_NUMBER or "+910000000000")
        parser.add_argument("--latency-ms", type=float, default=0)
        parser.add_argument(
            "--fail-rate", type=float, default=0.0, help="Share of requests given a fault (0-1)."
        )
        parser.add_argument(
            "--faults",
            default="5xx,429",
            help=f"Comma-separated fault kinds for --fail-rate: {', '.join(FAULTS)}.",
        )
        parser.add_argument("--slow-ms", type=float, default=1000)
        parser.add_argument("--timeout-ms", type=float, default=30000)
        parser.add_argument("--e110", action="store_true", help="Start with low balance (E110).")
        parser.add_argument("--callback-url", default="")
        parser.add_argument("--callback-auth", default="", help="user:password (HTTP Basic)")
        parser.add_argument("--callback-delay-ms", type=float, default=50)
        parser.add_argument(
            "--fail-digit", default="", help="Recipients ending in this digit get 'failed'."
        )
        parser.add_argument("--seed", type=int, default=None)

    def handle(self, *args, **options):
        faults = [kind.strip() for kind in options["faults"].split(",") if kind.strip()]
        config = SandboxConfig(
            sid=options["sid"],
            api_key=options["api_key"],
            number=options["number"],
            latency_ms=options["latency_ms"],
            fail_rate=options["fail_rate"],
            slow_ms=options["slow_ms"],
            timeout_ms=options["timeout_ms"],
            e110=options["e110"],
            callback_url=options["callback_url"],
            callback_auth=options["callback_auth"],
            callback_delay_ms=options["callback_delay_ms"],
            fail_digit=options["fail_digit"],
            seed=options["seed"],
        )
        config.update({"faults": faults})
        sandbox = KaleyraSandbox(config).start(host=options["host"], port=options["port"])
        self.stdout.write(
            f"Kaleyra sandbox on {sandbox.base_url} (SID {config.sid}, number {config.number}); "
            f"callbacks to {config.callback_url or 'nowhere'}. Ctrl-C stops it."
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            sandbox.stop()
