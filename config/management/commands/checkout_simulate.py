import json

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
from config.demo import DEMO_ADDRESS
from orders.selectors import order_get_by_reference
from orders.serializers import order_details_build

ACTIONS = {  # action -> its argument's name, or None
    "ping": None,
    "get_coupons": None,
    "apply_coupon": "CODE",
    "remove_coupon": None,
    "apply_shipping": "PINCODE",
}


class Command(BaseCommand):
    help = (
        "Play WhatsApp against a checkout endpoint: encrypt a request like WhatsApp (signed when "
        "an app secret is known), post it, decrypt and print the answer. "
        "Actions: ping | get_coupons | apply_coupon CODE | remove_coupon | apply_shipping PINCODE."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", required=True, help="e.g. https://shop.example.com/checkout/")
        parser.add_argument(
            "--public-key", required=True, help="The endpoint's public key (PEM file)."
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
