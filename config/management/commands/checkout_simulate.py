import json
import time

import requests
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from checkout.crypto import (
    DecryptionError,
    request_encrypt,
    response_decrypt,
    signature_compute,
)
from checkout.payments.selectors import order_payment_status
from config.demo import DEMO_ADDRESS
from messaging.sandbox import PAY_STATUSES
from orders.money import format_money, parse_rupees
from orders.selectors import order_get_by_reference
from orders.serializers import order_details_build

ACTIONS = {  # action -> its argument's name, or None
    "ping": None,
    "get_coupons": None,
    "apply_coupon": "CODE",
    "remove_coupon": None,
    "apply_shipping": "PINCODE",
    "pay": None,  # through the Kaleyra sandbox, not the checkout endpoint
}


class Command(BaseCommand):
    help = (
        "Play WhatsApp against a checkout endpoint: encrypt a request like WhatsApp (signed when "
        "an app secret is known), post it, decrypt and print the answer. "
        "Actions: ping | get_coupons | apply_coupon CODE | remove_coupon | apply_shipping PINCODE. "
        "`pay [--status ...]` has the Kaleyra sandbox pay the reference: it posts Kaleyra's "
        "payment webhook to its callback URL (this project's /kaleyra/callbacks/); with "
        "--drop-webhook it posts none (a lost webhook), for payments_reconcile to find."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--url", help="e.g. https://shop.example.com/checkout/ (every action but pay)"
        )
        parser.add_argument(
            "--public-key", help="The endpoint's public key (PEM file; every action but pay)."
        )
        parser.add_argument(
            "--sandbox",
            default=settings.KALEYRA_API_BASE_URL,
            help="pay: the Kaleyra sandbox (default: KALEYRA_API_BASE_URL).",
        )
        parser.add_argument(
            "--status",
            default="captured",
            choices=PAY_STATUSES,
            help="pay: what the payment does (default: captured).",
        )
        parser.add_argument(
            "--amount",
            help="pay: rupees paid, e.g. 1,650.00 (default: the order's total now when it is in "
            "this database, else the total of the order_details message the sandbox sent).",
        )
        parser.add_argument(
            "--refund-amount", help="pay --status refund: rupees refunded (default: all)."
        )
        parser.add_argument(
            "--drop-webhook",
            action="store_true",
            help="pay: the sandbox keeps the payment (Get Payment Status answers it) but posts "
            "no webhook, as if it were lost; `payments_reconcile REFERENCE` then finds it.",
        )
        parser.add_argument(
            "--user-id", help="The customer's WhatsApp number (default: the order's customer)."
        )
        parser.add_argument(
            "--app-secret",
            help="Sign with this app secret (default: the first of WHATSAPP_APP_SECRET; "
            "none: unsigned).",
        )
        parser.add_argument("--timeout", type=float, default=10.0)
        parser.add_argument("reference_id")
        parser.add_argument("action", nargs="?", default="ping", choices=list(ACTIONS))
        parser.add_argument("argument", nargs="?")

    def handle(self, *args, **options):
        action, argument = options["action"], options["argument"]
        if ACTIONS[action] and not argument:
            raise CommandError(f"{action} needs its {ACTIONS[action]}.")
        if not ACTIONS[action] and argument:
            raise CommandError(f"{action} takes no argument (got {argument!r}).")
        if action == "pay":
            return self._pay(options)
        missing = [
            f"--{name}" for name in ("url", "public-key") if not options[name.replace("-", "_")]
        ]
        if missing:
            raise CommandError(f"{action} needs {' and '.join(missing)}.")
        try:
            with open(options["public_key"], "rb") as file:
                public_key = load_pem_public_key(file.read())
        except (OSError, ValueError) as error:
            raise CommandError(
                f"Cannot read the public key {options['public_key']}: {error}"
            ) from None

        payload = self._payload(options, action, argument)
        envelope, aes_key, iv = request_encrypt(payload, public_key)
        body = json.dumps(envelope).encode()
        headers = {"Content-Type": "application/json"}
        secrets = settings.WHATSAPP_APP_SECRET
        secret = (
            options["app_secret"] if options["app_secret"] is not None else (secrets or [""])[0]
        )
        if secret:
            headers["X-Hub-Signature-256"] = signature_compute(body, secret)
        self.stdout.write(f"> {action} {options['reference_id']} -> {options['url']}")
        self.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False))
        try:
            response = requests.post(
                options["url"], data=body, headers=headers, timeout=options["timeout"]
            )
        except requests.RequestException as error:
            raise CommandError(f"Could not reach {options['url']}: {error}") from None
        self.stdout.write(f"< HTTP {response.status_code} {response.reason}")
        if not response.content:
            return
        try:
            answer = response_decrypt(response.content, aes_key=aes_key, iv=iv)
        except (DecryptionError, ValueError):
            self.stdout.write(response.text)  # not encrypted: the endpoint's plain-text reason
        else:
            self.stdout.write(json.dumps(answer, indent=2, ensure_ascii=False))

    def _payload(self, options, action, argument) -> dict:
        if action == "ping":
            return {"version": "3.0", "action": "ping"}
        reference_id = options["reference_id"]
        order = order_get_by_reference(reference_id=reference_id)
        if order is not None:
            details = order_details_build(order, reference_id=reference_id, include_payment=False)
        else:
            details = {"reference_id": reference_id}  # a remote shop: only the reference counts
        user_id = options["user_id"] or (order.customer_phone.as_e164 if order else None)
        if not user_id:
            raise CommandError(f"Order {reference_id} is not in this database: pass --user-id.")
        given = {"user_id": user_id.lstrip("+")}
        if action == "apply_coupon":
            given["coupon"] = {"code": argument}
        elif action == "apply_shipping":
            known = details.get("shipping_info", {}).get("addresses") or [DEMO_ADDRESS]
            given["selected_address"] = {**known[0], "in_pin_code": argument}
        return {
            "version": "1.0",
            "action": "data_exchange",
            "sub_action": action,
            "data": {"order_details": details, "input": given},
        }

    def _pay(self, options):
        """Have the Kaleyra sandbox pay the reference, wait for its webhook to be answered, and
        show where the order stands."""
        reference_id = options["reference_id"]
        request = {"reference_id": reference_id, "status": options["status"]}
        if options["drop_webhook"]:
            request["drop_webhook"] = True
        for name in ("amount", "refund_amount"):
            if options[name] is not None:
                try:
                    request[name] = parse_rupees(options[name])
                except ValueError as error:
                    flag = "--" + name.replace("_", "-")
                    raise CommandError(f"{flag} {options[name]!r}: {error}") from None
        order = order_get_by_reference(reference_id=reference_id)
        if order is not None and "amount" not in request and options["status"] != "refund":
            # what the customer's checkout shows now (after coupon and shipping changes)
            request["amount"] = order.totals.total
        if options["user_id"] or order is not None:
            request["phone"] = (options["user_id"] or order.customer_phone.as_e164).lstrip("+")
        base = options["sandbox"].rstrip("/")
        self.stdout.write(f"> pay {reference_id} ({options['status']}) through {base}")
        try:
            before = len(self._sandbox_callbacks(base, options, reference_id))
            answer = requests.post(f"{base}/_sandbox/pay", json=request, timeout=options["timeout"])
        except requests.RequestException as error:
            raise CommandError(f"Could not reach the Kaleyra sandbox at {base}: {error}") from None
        if answer.status_code != 202:
            try:
                reason = answer.json().get("error") or answer.text
            except ValueError:
                reason = answer.text
            raise CommandError(
                f"The sandbox at {base} refused the payment (HTTP {answer.status_code}): {reason}"
            )
        events = answer.json()["events"]
        for event in events:
            self.stdout.write(json.dumps(event, indent=2, ensure_ascii=False))
        if options["drop_webhook"]:
            self.stdout.write(
                f"< no webhook posted (dropped). `manage.py payments_reconcile {reference_id}` "
                "looks the payment up now; the periodic job does after PAYMENT_LOOKUP_AFTER."
            )
        else:
            posted = self._wait_for_callbacks(base, options, reference_id, before + len(events))
            for callback in posted[before:]:
                self.stdout.write(f"< webhook {callback['status']}: HTTP {callback['answer']}")
        if order is not None:
            order.refresh_from_db()
            self.stdout.write(
                f"Order {order.reference_id}: {order.get_status_display()}, payment "
                f"{order_payment_status(order=order)}, total {format_money(order.totals.total)}"
            )

    def _sandbox_callbacks(self, base, options, reference_id) -> list:
        answer = requests.get(f"{base}/_sandbox/callbacks", timeout=options["timeout"])
        answer.raise_for_status()
        return [c for c in answer.json()["callbacks"] if c.get("reference_id") == reference_id]

    def _wait_for_callbacks(self, base, options, reference_id, count) -> list:
        deadline = time.monotonic() + options["timeout"]
        while True:
            try:
                posted = self._sandbox_callbacks(base, options, reference_id)
            except (requests.RequestException, ValueError) as error:
                raise CommandError(f"Could not read the sandbox's callbacks: {error}") from None
            if len(posted) >= count:
                return posted
            if time.monotonic() > deadline:
                raise CommandError(
                    f"The sandbox posted {len(posted)} of {count} payment webhooks for "
                    f"{reference_id} within {options['timeout']} s: is its callback_url set?"
                )
            time.sleep(0.1)
