"""The business's private key: read from the settings once per process (at start-up, from
CheckoutConfig.ready), never per request; loading costs far more than decrypting."""

import logging
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

KEY = "WHATSAPP_CHECKOUT_PRIVATE_KEY"
KEY_FILE = "WHATSAPP_CHECKOUT_PRIVATE_KEY_FILE"
PASSPHRASE = "WHATSAPP_CHECKOUT_PRIVATE_KEY_PASSPHRASE"  # noqa: S105 - a variable name
MIN_KEY_BITS = 2048

NO_KEY_MESSAGE = (
    f"No checkout private key: set {KEY} (PEM text) or {KEY_FILE} (a path), plus {PASSPHRASE} "
    "if it is encrypted; make one with `python manage.py checkout_keygen`."
)

_loaded = {"key": None}


def private_key_parse(pem: bytes, *, passphrase: str, source: str):
    """An RSA private key from PEM (PKCS#1 or PKCS#8, encrypted or not); ImproperlyConfigured
    naming the variable to fix when it cannot be used."""
    password = passphrase.encode("utf-8") if passphrase else None
    try:
        key = load_pem_private_key(pem, password=password)
    except TypeError:
        if password:
            raise ImproperlyConfigured(
                f"{PASSPHRASE} is set but the private key in {source} is not encrypted: "
                f"unset {PASSPHRASE}."
            ) from None
        raise ImproperlyConfigured(
            f"The private key in {source} is encrypted: set {PASSPHRASE} to its passphrase."
        ) from None
    except ValueError:
        if password:
            raise ImproperlyConfigured(
                f"The private key in {source} cannot be read: either {PASSPHRASE} is not its "
                "passphrase or it is not a PEM private key."
            ) from None
        raise ImproperlyConfigured(
            f"{source} does not hold a PEM private key (-----BEGIN ... PRIVATE KEY-----)."
        ) from None
    except Exception as error:  # OpenSSL can refuse a key in other ways (unsupported cipher ...)
        raise ImproperlyConfigured(f"The private key in {source} cannot be read: {error}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ImproperlyConfigured(f"The private key in {source} is not an RSA key.")
    if key.key_size < MIN_KEY_BITS:
        raise ImproperlyConfigured(
            f"The private key in {source} has {key.key_size} bits; WhatsApp needs {MIN_KEY_BITS}."
        )
    return key


def private_key_from_settings():
    """The configured key, or None when neither variable is set."""
    pem = settings.WHATSAPP_CHECKOUT_PRIVATE_KEY.strip()
    path = settings.WHATSAPP_CHECKOUT_PRIVATE_KEY_FILE.strip()
    passphrase = settings.WHATSAPP_CHECKOUT_PRIVATE_KEY_PASSPHRASE
    if pem and path:
        raise ImproperlyConfigured(f"Set either {KEY} or {KEY_FILE}, not both.")
    if path:
        try:
            data = Path(path).read_bytes()
        except OSError as error:
            raise ImproperlyConfigured(
                f"{KEY_FILE}={path} cannot be read: {error.strerror}."
            ) from None
        return private_key_parse(data, passphrase=passphrase, source=f"{KEY_FILE} ({path})")
    if pem:
        return private_key_parse(pem.encode("utf-8"), passphrase=passphrase, source=KEY)
    if passphrase:
        raise ImproperlyConfigured(f"{PASSPHRASE} is set but neither {KEY} nor {KEY_FILE} is.")
    return None


def private_key_configure():
    """Load the key from the settings into this process (start-up, and tests changing them).

    A configured key that cannot be used raises ImproperlyConfigured: the process does not start.
    No key at all is allowed here, so management commands (migrate, checkout_keygen ...) and
    workers run without one; the web process refuses to start without it (private_key_require,
    called from config/wsgi.py), and /checkout/ answers 503 in any process that has none.
    """
    _loaded["key"] = private_key_from_settings()
    return _loaded["key"]


def private_key_require():
    """Web server start-up: no key is an error, no app secret a warning."""
    if checkout_private_key() is None:
        raise ImproperlyConfigured(NO_KEY_MESSAGE)
    if not settings.WHATSAPP_APP_SECRET:
        logger.warning(
            "WHATSAPP_APP_SECRET is not set: /checkout/ does not check X-Hub-Signature-256."
        )


def checkout_private_key():
    return _loaded["key"]
