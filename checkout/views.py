"""POST /checkout/: WhatsApp's encrypted data exchange.

Transport only: size, signature, envelope, decryption, then checkout.services for the answer,
encrypted back. Status codes: 413 over 64 KiB; 432 bad or missing X-Hub-Signature-256 (when
WHATSAPP_APP_SECRET is set); 400 not the JSON envelope; 421 cannot be decrypted (no details);
427 a refusal the customer reads (encrypted `error_msg`); 503 no private key configured.
"""

import json
import logging

from django.conf import settings
from django.http import HttpResponse
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.views import APIView

from common.errors import DomainError

from .crypto import (
    ENVELOPE_FIELDS,
    DecryptionError,
    request_decrypt,
    response_encrypt,
    signature_valid,
)
from .errors import CheckoutRequestInvalid
from .keys import NO_KEY_MESSAGE, checkout_private_key
from .services import checkout_answer

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
SIGNATURE_HEADER = "HTTP_X_HUB_SIGNATURE_256"


class AnyAcceptNegotiation(BaseContentNegotiation):
    """The answer is always text/plain, whatever the client's Accept header says."""

    def select_parser(self, request, parsers):
        return None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


# WhatsApp's own codes, which Python's http module does not name.
REASONS = {421: "Cannot Decrypt", 427: "Checkout Refused", 432: "Signature Check Failed"}


def _plain(status: int, text: str = "") -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain", reason=REASONS.get(status))


class CheckoutEndpointView(APIView):
    authentication_classes = []
    permission_classes = []
    throttle_classes = []
    parser_classes = []
    content_negotiation_class = AnyAcceptNegotiation

    def post(self, request):
        private_key = checkout_private_key()
        if private_key is None:
            return _plain(503, NO_KEY_MESSAGE)
        # Digits only: config.middleware.ContentLengthMiddleware refused anything else.
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > MAX_BODY_BYTES:
            return _plain(413, f"The request is over {MAX_BODY_BYTES} bytes.")
        stream = request.stream
        body = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
        if len(body) > MAX_BODY_BYTES:
            return _plain(413, f"The request is over {MAX_BODY_BYTES} bytes.")

        secrets = settings.WHATSAPP_APP_SECRET
        if secrets and not signature_valid(
            body=body, header=request.META.get(SIGNATURE_HEADER), secrets=secrets
        ):
            logger.warning("Checkout request refused: X-Hub-Signature-256 missing or wrong.")
            return _plain(432)

        try:
            envelope = json.loads(body)
        except ValueError:
            return _plain(400, "The body is not JSON.")
        problem = _envelope_problem(envelope)
        if problem:
            return _plain(400, problem)

        try:
            decrypted = request_decrypt(envelope, private_key)
        except DecryptionError as error:
            logger.info("Checkout request not decryptable: %s", error)
            return _plain(421)

        try:
            answer, status = checkout_answer(payload=decrypted.payload), 200
        except DomainError as error:
            answer, status = _refusal(error)
        return _plain(status, response_encrypt(answer, aes_key=decrypted.aes_key, iv=decrypted.iv))


def _refusal(error: DomainError) -> tuple[dict, int]:
    """The one place a refusal becomes the endpoint's answer: 400 for a request we do not
    understand, 427 for any other refusal (the customer reads `error_msg` in WhatsApp)."""
    if isinstance(error, CheckoutRequestInvalid):
        logger.warning("Checkout request not understood: %s", error.message)
        return {"error_msg": error.message}, 400
    logger.info("Checkout request refused (%s): %s", error.code, error.message)
    return {"error_msg": error.message}, 427


def _envelope_problem(envelope) -> str:
    if not isinstance(envelope, dict):
        return "The body is not a JSON object."
    for field in ENVELOPE_FIELDS:
        if not isinstance(envelope.get(field), str):
            return f"{field} is missing or not a string."
    return ""
