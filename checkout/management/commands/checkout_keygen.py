import getpass
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from checkout.keys import KEY_FILE, PASSPHRASE

DEFAULT_PATH = Path(settings.BASE_DIR) / "var" / "whatsapp_checkout_private_key.pem"


class Command(BaseCommand):
    help = (
        "Make the checkout endpoint's 2048-bit RSA key pair: writes the private key (owner-only) "
        "and the public key, and prints the Graph API call that uploads the public key."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--out",
            default=str(DEFAULT_PATH),
            help=f"Where to write the private key (default {DEFAULT_PATH}); the public key goes "
            "beside it as <name>.pub.pem.",
        )
        parser.add_argument(
            "--passphrase",
            action="store_true",
            help=f"Encrypt the private key with a passphrase: {PASSPHRASE} when it is set, "
            "else asked for.",
        )
        parser.add_argument("--force", action="store_true", help="Replace an existing key file.")

    def handle(self, *args, out, passphrase, force, **options):
        private_path = Path(out)
        public_path = private_path.with_name(private_path.stem + ".pub.pem")
        if private_path.exists() and not force:
            raise CommandError(
                f"{private_path} already exists; pass --force to replace it (the public key "
                "uploaded to WhatsApp must then be replaced too)."
            )
        encryption = serialization.NoEncryption()
        if passphrase:
            secret = settings.WHATSAPP_CHECKOUT_PRIVATE_KEY_PASSPHRASE or self._ask_passphrase()
            encryption = serialization.BestAvailableEncryption(secret.encode("utf-8"))
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        private_path.parent.mkdir(parents=True, exist_ok=True)
        if force and private_path.exists():
            private_path.unlink()
        descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(private_pem)
        public_path.write_bytes(public_pem)

        self.stdout.write(f"Private key written to {private_path} (mode 600). Configure it with:")
        self.stdout.write(f"  {KEY_FILE}={private_path.resolve()}")
        if passphrase:
            self.stdout.write(f"  {PASSPHRASE}=<the passphrase>")
        self.stdout.write(f"\nPublic key ({public_path}):\n{public_pem.decode()}")
        self.stdout.write(
            "Upload it once per business phone number (Graph API, WhatsApp Cloud):\n"
            "  curl -X POST 'https://graph.facebook.com/v25.0/<PHONE_NUMBER_ID>/"
            "whatsapp_business_encryption' \\\n"
            "    -H 'Authorization: Bearer <ACCESS_TOKEN>' \\\n"
            f'    --data-urlencode "business_public_key=$(cat {public_path})"'
        )

    def _ask_passphrase(self) -> str:
        first = getpass.getpass("Passphrase for the private key: ")
        if not first:
            raise CommandError("The passphrase cannot be empty.")
        if getpass.getpass("Again: ") != first:
            raise CommandError("The two passphrases differ.")
        return first
