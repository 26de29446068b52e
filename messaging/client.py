"""The one Kaleyra WhatsApp v2 client: POST a message, classify the answer.

`KaleyraClient.send(body)` never raises for anything Kaleyra or the network does; it returns a
`SendResult` whose `outcome` tells the caller what to do:

- ACCEPTED: 202 with `data.message_id`.
- PERMANENT: RBC001, WA401/WA-401, WA400 (and any other 4xx): a human has to act; retrying is
  pointless. Kaleyra's code and message are kept.
- RETRY: WA500, HTTP 5xx, 429, and network failures that certainly happened *before* Kaleyra could
  have read the request (the connection was never established: refused, DNS, connect timeout,
  TLS handshake). Kaleyra did not take the message, so sending it again cannot duplicate it.
- PAUSE: E110 (low balance) and WAV2101 (daily limit): the whole account must stop for a while.
- UNKNOWN: the request went out but the answer was lost: read timeout, connection dropped while
  waiting, or a 2xx without a message id. Kaleyra has no idempotency key, so the message may or may
  not have been accepted; resending could deliver it twice. The caller must not resend blindly
  (see messaging/services/sending.py for what happens to such messages).

`KaleyraClient.payment_status(reference_id)` asks the Get Payment Status API for a reference and
returns a `PaymentLookup` (FOUND with the payment updates, NONE for a 404, FAILED with a code and
a scrubbed text for anything else); it never raises either. The answer's field names are not
public: `_payment_answer_events` is the one place that reads them.

The api key travels only in the `api-key` header; it is never logged and is scrubbed from every
error text this module produces.
"""

import json
import os
import threading
from dataclasses import dataclass
from enum import StrEnum

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

PERMANENT_CODES = frozenset({"RBC001", "WA401", "WA-401", "WA400"})
PAUSE_CODES = frozenset({"E110", "WAV2101"})
RETRY_CODES = frozenset({"WA500"})
CODE_MAX_LENGTH = 32  # SentMessage.error_code
MESSAGE_ID_MAX_LENGTH = 128  # SentMessage.provider_message_id
TEXT_MAX_LENGTH = 500  # any other text taken from an answer or an exception


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    PERMANENT = "permanent"
    RETRY = "retry"
    PAUSE = "pause"
    UNKNOWN = "unknown"


class LookupOutcome(StrEnum):
    FOUND = "found"
    NONE = "none"  # 404: no payment for this reference yet
    FAILED = "failed"


@dataclass(frozen=True)
class PaymentLookup:
    outcome: LookupOutcome
    events: tuple = ()  # payment updates in the payment webhook's shape
    code: str = ""
    message: str = ""
    http_status: int | None = None


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    code: str = ""
    message: str = ""
    message_id: str = ""
    http_status: int | None = None


class KaleyraClient:
    def __init__(
        self,
        *,
        base_url: str,
        sid: str,
        api_key: str,
        number: str,
        connect_timeout: float,
        read_timeout: float,
        pool_size: int = 10,
        phone_number_id: str = "",
        payment_configuration_id: str = "",
    ):
        self.url = f"{base_url.rstrip('/')}/v2/{sid}/whatsapp/{number}/messages"
        self.payments_configured = bool(phone_number_id and payment_configuration_id)
        self.payments_url = (
            f"{base_url.rstrip('/')}/v1/{sid}/wrapper/{phone_number_id}"
            f"/payments/{payment_configuration_id}/"
        )
        self._api_key = api_key
        self.timeout = (connect_timeout, read_timeout)
        self.session = requests.Session()
        # No transport-level retries: a retried POST could be sent twice. Retries are decided
        # by the caller from the classified result.
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers.update({"api-key": api_key, "Content-Type": "application/json"})
        # requests reads proxies, netrc and CA bundle from the environment on every request
        # (about a millisecond of CPU each, more than the rest of a send): read them once here.
        self.session.trust_env = False
        self.session.proxies.update(requests.utils.get_environ_proxies(self.url))
        ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if ca_bundle:
            self.session.verify = ca_bundle
        # Every send is the same request but for its body: prepared once, copied per send
        # (Session.post would merge settings, headers and cookies again each time).
        self._template = self.session.prepare_request(
            requests.Request("POST", self.url, data=b"{}")
        )

    def __repr__(self):
        return f"<KaleyraClient {self.url}>"

    def send(self, body: dict) -> SendResult:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        request = self._template.copy()
        request.body = data
        request.headers["Content-Length"] = str(len(data))
        try:
            response = self.session.send(request, timeout=self.timeout, allow_redirects=False)
        except requests.ConnectTimeout as exc:
            return SendResult(Outcome.RETRY, "connect_timeout", self._untrusted(exc))
        except requests.ReadTimeout as exc:
            return SendResult(Outcome.UNKNOWN, "read_timeout", self._untrusted(exc))
        except requests.ConnectionError as exc:
            if _never_connected(exc):
                return SendResult(Outcome.RETRY, "connection_error", self._untrusted(exc))
            return SendResult(Outcome.UNKNOWN, "connection_dropped", self._untrusted(exc))
        except requests.RequestException as exc:
            return SendResult(Outcome.UNKNOWN, "request_error", self._untrusted(exc))
        return self._classify(response)

    def _classify(self, response) -> SendResult:
        status = response.status_code
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            text = f"HTTP {status}, not a JSON object: {self._untrusted(response.text, 200)!r}"
            if status == 429 or status >= 500:
                return SendResult(Outcome.RETRY, f"http_{status}", text, http_status=status)
            if 200 <= status < 300:
                return SendResult(Outcome.UNKNOWN, "invalid_answer", text, http_status=status)
            return SendResult(Outcome.PERMANENT, f"http_{status}", text, http_status=status)
        code = self._untrusted(answer.get("code") or "", CODE_MAX_LENGTH)
        message = self._untrusted(answer.get("message") or "")
        if 200 <= status < 300:
            data = answer.get("data")
            message_id = data.get("message_id") if isinstance(data, dict) else None
            if isinstance(message_id, str) and 0 < len(message_id) <= MESSAGE_ID_MAX_LENGTH:
                return SendResult(Outcome.ACCEPTED, code, message, message_id, status)
            text = self._untrusted(f"HTTP {status} without data.message_id: {json.dumps(answer)}")
            return SendResult(Outcome.UNKNOWN, "invalid_answer", text, http_status=status)
        code = code or f"http_{status}"
        message = message or f"HTTP {status}"
        if code in PAUSE_CODES:
            return SendResult(Outcome.PAUSE, code, message, http_status=status)
        if code in PERMANENT_CODES:
            return SendResult(Outcome.PERMANENT, code, message, http_status=status)
        if code in RETRY_CODES or status == 429 or status >= 500:
            return SendResult(Outcome.RETRY, code, message, http_status=status)
        return SendResult(Outcome.PERMANENT, code, message, http_status=status)

    def payment_status(self, reference_id: str) -> PaymentLookup:
        """Get Payment Status for one order reference (GET, so safe to repeat)."""
        if not self.payments_configured:
            return _lookup(
                LookupOutcome.FAILED,
                "not_configured",
                "KALEYRA_PHONE_NUMBER_ID and KALEYRA_PAYMENT_CONFIGURATION_ID must be set "
                "to look payments up",
                None,
            )
        url = self.payments_url + requests.utils.quote(reference_id, safe="")
        try:
            response = self.session.get(url, timeout=self.timeout, allow_redirects=False)
        except requests.Timeout as exc:
            return PaymentLookup(LookupOutcome.FAILED, code="timeout", message=self._untrusted(exc))
        except requests.RequestException as exc:
            return PaymentLookup(
                LookupOutcome.FAILED, code="connection_error", message=self._untrusted(exc)
            )
        status = response.status_code
        if status == 404:
            return _lookup(LookupOutcome.NONE, "not_found", "no payment yet", status)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not 200 <= status < 300:
            code, message = f"http_{status}", f"HTTP {status}"
            if isinstance(answer, dict):
                code = self._untrusted(answer.get("code") or code, CODE_MAX_LENGTH)
                message = self._untrusted(answer.get("message") or message)
            return _lookup(LookupOutcome.FAILED, code, message, status)
        events = _payment_answer_events(answer)
        if events is None:
            text = f"HTTP {status}, not a payment answer: {self._untrusted(response.text, 200)!r}"
            return _lookup(LookupOutcome.FAILED, "invalid_answer", text, status)
        if not events:
            return _lookup(LookupOutcome.NONE, "no_payment", "no payment yet", status)
        return PaymentLookup(LookupOutcome.FOUND, events=tuple(events), http_status=status)

    def _untrusted(self, value, limit: int = TEXT_MAX_LENGTH) -> str:
        """Kaleyra's (or the network's) text as it may be stored and shown: the api key scrubbed
        from the whole text first, only then cut to `limit` (cutting first could leave part of
        the key, which the scrub no longer recognises)."""
        text = str(value)
        if self._api_key:
            text = text.replace(self._api_key, "***")
        return text[:limit]


def _lookup(outcome, code, message, http_status) -> PaymentLookup:
    return PaymentLookup(outcome, code=code, message=message, http_status=http_status)


def _payment_answer_events(answer) -> list | None:
    """The one place that knows the Get Payment Status answer's field names (not public; read in
    the payment webhook's shape): one update `{"type": "payment", "payment": {...}}`, or a list of
    them under `payments` or `data`. None when the answer is not one of these."""
    if isinstance(answer, dict) and isinstance(answer.get("payment"), dict):
        return [answer]
    if isinstance(answer, dict):
        answer = answer.get("payments", answer.get("data"))
        if isinstance(answer, dict):
            return _payment_answer_events(answer)
    if isinstance(answer, list) and all(
        isinstance(item, dict) and isinstance(item.get("payment"), dict) for item in answer
    ):
        return answer
    return None


def _never_connected(exc: requests.ConnectionError) -> bool:
    """True when the connection was never established, so the request was never sent: DNS
    failure, refused, connect timeout, TLS handshake failure. urllib3 wraps these in
    NewConnectionError (or an SSLError); a dropped established connection is a ProtocolError."""
    import urllib3.exceptions as u3

    if isinstance(exc, requests.exceptions.SSLError | requests.exceptions.ProxyError):
        return True
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)  # MaxRetryError -> underlying error
    return isinstance(reason, u3.NewConnectionError | u3.ConnectTimeoutError)


_lock = threading.Lock()
_client: KaleyraClient | None = None
_client_key: tuple | None = None


def kaleyra_client() -> KaleyraClient:
    """The process-wide client (one pooled session), rebuilt only when the settings change."""
    global _client, _client_key
    key = (
        settings.KALEYRA_API_BASE_URL,
        settings.KALEYRA_SID,
        settings.KALEYRA_API_KEY,
        settings.KALEYRA_WHATSAPP_NUMBER,
        settings.KALEYRA_CONNECT_TIMEOUT,
        settings.KALEYRA_READ_TIMEOUT,
        settings.KALEYRA_HTTP_POOL_SIZE,
        settings.KALEYRA_PHONE_NUMBER_ID,
        settings.KALEYRA_PAYMENT_CONFIGURATION_ID,
    )
    client = _client
    if client is not None and _client_key == key:
        return client
    with _lock:
        if _client is None or _client_key != key:
            _client = KaleyraClient(
                base_url=key[0],
                sid=key[1],
                api_key=key[2],
                number=key[3],
                connect_timeout=key[4],
                read_timeout=key[5],
                pool_size=key[6],
                phone_number_id=key[7],
                payment_configuration_id=key[8],
            )
            _client_key = key
        return _client
