"""Provider-neutral base for incoming webhooks (the idea of django-anymail's inbound views).

Order of work, whatever the provider:
1. authenticate with a strategy (`BasicAuth` or `HmacSignatureAuth`): a request that fails is
   refused (401, or 503 when nothing is configured) and nothing is stored;
2. read the raw body from the request stream, up to `max_body_bytes` (Django's upload limits,
   DATA_UPLOAD_MAX_MEMORY_SIZE and DATA_UPLOAD_MAX_NUMBER_FIELDS, never apply: the view never
   touches request.body or request.POST, and form bodies are decoded by `form_fields_parse`);
3. hand the body to `receive`, which stores it before anything can refuse it, then parses it
   and dispatches each event by (provider, type) to the handlers registered here.

A body over the cap is stored truncated (the subclass's `receive` sees `RawBody.truncated`) and
answered 413 naming the cap. An HMAC signature cannot be checked on a truncated body, so with
that strategy an over-cap body is refused (413) without being stored.

Handlers register with `webhook_handler_register(provider=..., event_type=..., handler=...)`,
typically from an AppConfig.ready(), so an app above the one owning the webhook (payments in
checkout) can handle an event type without the webhook's app importing it.

This module imports no app of the project (common is the lowest layer).
"""

import base64
import binascii
import hashlib
import hmac
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qsl

from django.http import HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

logger = logging.getLogger(__name__)

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


# --- authentication strategies --------------------------------------------------------------


class WebhookAuth:
    """A way to tell the provider's requests from anyone else's. `refusal` answers None for an
    authenticated request, else the response to send. `needs_body`: the check is over the raw
    body (read before the check, never stored when the check fails)."""

    needs_body = False

    def refusal(self, *, request, body: bytes | None) -> HttpResponse | None:
        raise NotImplementedError


def _not_configured(request) -> JsonResponse:
    logger.warning("%s refused: no webhook credentials are configured", request.path)
    return JsonResponse(
        {"error": "not_configured", "message": "Callbacks are not configured here."}, status=503
    )


def _unauthorized(message: str) -> JsonResponse:
    return JsonResponse({"error": "unauthorized", "message": message}, status=401)


class BasicAuth(WebhookAuth):
    """HTTP Basic: `credentials()` gives the accepted (user, password) pairs as bytes (two during
    a rotation); it may raise ValueError for a malformed setting, which counts as none."""

    def __init__(self, *, credentials: Callable[[], Sequence[tuple[bytes, bytes]]], realm: str):
        self.credentials = credentials
        self.realm = realm

    def refusal(self, *, request, body):
        try:
            credentials = self.credentials()
        except ValueError:
            credentials = []
        if not credentials:
            return _not_configured(request)
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if basic_auth_matches(header=header, credentials=credentials):
            return None
        response = _unauthorized("Missing or wrong credentials.")
        response["WWW-Authenticate"] = f'Basic realm="{self.realm}"'
        return response


class HmacSignatureAuth(WebhookAuth):
    """An HMAC-SHA256 of the raw body in a header (`sha256=<hex>`, as WhatsApp's
    X-Hub-Signature-256), under any of `secrets()` (two during a rotation), constant-time."""

    needs_body = True

    def __init__(
        self, *, secrets: Callable[[], Sequence[str]], header: str = "HTTP_X_HUB_SIGNATURE_256"
    ):
        self.secrets = secrets
        self.header = header

    def refusal(self, *, request, body):
        secrets = [secret for secret in self.secrets() if secret]
        if not secrets:
            return _not_configured(request)
        if signature_valid(body=body, header=request.META.get(self.header), secrets=secrets):
            return None
        return _unauthorized("Missing or wrong signature.")


def basic_auth_matches(*, header: str, credentials: Iterable[tuple[bytes, bytes]]) -> bool:
    """Whether an Authorization header carries one of the pairs. Every pair is compared in
    constant time, whichever matches."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return False
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    user, sep, password = decoded.partition(b":")
    if not sep:
        return False
    matched = False
    for expected_user, expected_password in credentials:
        user_ok = hmac.compare_digest(user, expected_user)
        password_ok = hmac.compare_digest(password, expected_password)
        matched |= user_ok & password_ok
    return matched


def signature_compute(body: bytes, secret: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_valid(*, body: bytes, header: str | None, secrets: Iterable[str]) -> bool:
    """True when `header` is the HMAC-SHA256 of the raw body under any of `secrets`
    (two during a rotation), compared in constant time."""
    if not header:
        return False
    given = header.strip().encode("latin-1", errors="replace")
    matched = False
    for secret in secrets:
        expected = signature_compute(body, secret).encode("ascii")
        matched |= hmac.compare_digest(expected, given)
    return matched


# --- the raw body -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RawBody:
    data: bytes  # at most the cap
    size: int  # bytes the client sent (or declared, when over the cap)
    cap: int
    content_type: str

    @property
    def truncated(self) -> bool:
        return self.size > self.cap

    @property
    def too_large_message(self) -> str:
        return (
            f"The body is over the {self.cap}-byte limit ({self.size} bytes); "
            f"only the first {self.cap} bytes were kept."
        )


def raw_body_read(request, *, cap: int) -> RawBody:
    """The body from the request stream, never more than `cap` bytes kept (one more is read to
    tell a body of exactly `cap` bytes from a longer one). Content-Length is a number:
    config.middleware.ContentLengthMiddleware refused anything else."""
    declared = int(request.META.get("CONTENT_LENGTH") or 0)
    data = request.read(cap + 1)
    size = max(len(data), declared) if len(data) > cap else len(data)
    return RawBody(
        data=data[:cap], size=size, cap=cap, content_type=request.META.get("CONTENT_TYPE", "")
    )


class WebhookBodyError(ValueError):
    """A body that cannot be read; the message says what was wrong."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def media_type(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def form_fields_parse(*, body: bytes, content_type: str) -> dict[str, str]:
    """A form body (urlencoded or multipart) as {name: last value}, from the raw bytes: no field
    count or size limit beyond the caller's cap. Raises WebhookBodyError."""
    if media_type(content_type) == "multipart/form-data":
        return _multipart_fields(body=body, content_type=content_type)
    text = body.decode("utf-8", "replace")
    return dict(parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="replace"))


def _multipart_fields(*, body: bytes, content_type: str) -> dict[str, str]:
    header = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=HTTP).parsebytes(header + body)
    if not message.get_boundary():
        raise WebhookBodyError("The form data cannot be read: the multipart boundary is missing.")
    if not message.is_multipart() or message.defects:
        raise WebhookBodyError("The form data cannot be read: the multipart body is malformed.")
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            raise WebhookBodyError("The form data cannot be read: a part has no field name.")
        payload = part.get_payload(decode=True) or b""
        charset = part.get_content_charset() or "utf-8"
        try:
            fields[str(name)] = payload.decode(charset, "replace")
        except LookupError:
            raise WebhookBodyError(
                f"The form data cannot be read: unknown charset '{charset[:40]}'."
            ) from None
    return fields


# --- handlers by (provider, event type) -------------------------------------------------------


class WebhookEventsFailed(Exception):
    """Raised by a handler that handled its events but these (their ids): the others are marked
    handled, these stay unhandled for a repeat delivery to try again. Any other exception
    leaves all of the handler's events unhandled."""

    def __init__(self, message: str, *, event_ids: Iterable):
        super().__init__(message)
        self.event_ids = frozenset(event_ids)


_handlers: dict[tuple[str, str], list[Callable]] = defaultdict(list)


def webhook_handler_register(*, provider: str, event_type: str, handler: Callable) -> None:
    """Have `handler(events=[...])` called with the newly stored events of this type. Registering
    the same handler twice (a second ready()) changes nothing."""
    handlers = _handlers[(provider, event_type)]
    if handler not in handlers:
        handlers.append(handler)


def webhook_handler_unregister(*, provider: str, event_type: str, handler: Callable) -> None:
    handlers = _handlers[(provider, event_type)]
    if handler in handlers:
        handlers.remove(handler)


def webhook_handlers(*, provider: str, event_type: str) -> list[Callable]:
    return list(_handlers.get((provider, event_type), ()))


# --- the view ----------------------------------------------------------------------------------


@method_decorator(csrf_exempt, name="dispatch")
class WebhookView(View):
    """Subclasses set `auth` (a strategy), `max_body_bytes` (a callable: settings can change at
    run time) and implement `receive(request, raw)`, which stores `raw` first."""

    http_method_names = ["post"]
    auth: WebhookAuth
    max_body_bytes: Callable[[], int]

    def post(self, request, *args, **kwargs):
        if not self.auth.needs_body:
            refusal = self.auth.refusal(request=request, body=None)
            if refusal is not None:
                return refusal
        raw = raw_body_read(request, cap=self.max_body_bytes())
        if self.auth.needs_body:
            if raw.truncated:  # cannot be authenticated, so not stored
                return self.too_large(raw, receipt=None)
            refusal = self.auth.refusal(request=request, body=raw.data)
            if refusal is not None:
                return refusal
        return self.receive(request, raw)

    def receive(self, request, raw: RawBody) -> HttpResponse:
        raise NotImplementedError

    @staticmethod
    def too_large(raw: RawBody, *, receipt) -> JsonResponse:
        answer = {"error": "body_too_large", "message": raw.too_large_message}
        if receipt is not None:
            answer["receipt"] = receipt
        return JsonResponse(answer, status=413)
