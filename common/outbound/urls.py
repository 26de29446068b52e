"""Which URLs a webhook may go to (SSRF rules): http or https, a host name or address that
resolves only to public addresses, no credentials in the URL. Private, loopback, link-local,
multicast and reserved addresses are refused unless WEBHOOK_ALLOW_PRIVATE_ADDRESSES (tests,
the local sandbox). Checked when an endpoint is registered, and again at every connection (the
address actually connected to: a name that resolves elsewhere later is still refused)."""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from ..errors import DomainError


class WebhookUrlError(DomainError):
    code = "webhook_url_refused"
    default_message = "This webhook URL is refused."


def address_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise WebhookUrlError(
            f"The webhook URL's host '{host}' cannot be resolved ({exc}).", code="webhook_url_host"
        ) from None
    return list(dict.fromkeys(info[4][0] for info in infos))


def addresses_allowed(host: str, port: int) -> list[str]:
    """The addresses of `host` a webhook may connect to; WebhookUrlError when there is none."""
    addresses = _resolve(host, port)
    if settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        return addresses
    refused = [address for address in addresses if not address_public(address)]
    if refused:
        raise WebhookUrlError(
            f"The webhook URL's host '{host}' is a private, loopback or reserved address "
            f"({', '.join(refused)}): webhooks go only to public addresses.",
            code="webhook_url_private",
        )
    return addresses


def webhook_url_check(url: str) -> str:
    """The URL, stripped, when a webhook may be sent to it; else WebhookUrlError saying why."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookUrlError(
            f"The webhook URL cannot be read: {exc}.", code="webhook_url_invalid"
        ) from None
    if parts.scheme not in ("http", "https"):
        raise WebhookUrlError(
            "The webhook URL must start with https:// (or http://).", code="webhook_url_scheme"
        )
    if not parts.hostname:
        raise WebhookUrlError("The webhook URL has no host name.", code="webhook_url_invalid")
    if parts.username or parts.password:
        raise WebhookUrlError(
            "The webhook URL must not carry a user name or password: the signature "
            "authenticates the requests.",
            code="webhook_url_credentials",
        )
    addresses_allowed(parts.hostname, port or (443 if parts.scheme == "https" else 80))
    return url


# --- the connection-time check ----------------------------------------------------------------


class _GuardedConnectionMixin:
    def _new_conn(self):
        host = self._dns_host
        addresses = addresses_allowed(host, self.port)  # raises WebhookUrlError
        self._dns_host = addresses[0]  # connect to the address checked (TLS still uses host)
        try:
            return super()._new_conn()
        finally:
            self._dns_host = host


class _GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """A requests adapter that connects only to addresses `addresses_allowed` lets through."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPPool,
            "https": _GuardedHTTPSPool,
        }
