"""Outgoing webhook transport: Standard Webhooks signing and an SSRF-safe HTTP POST.

Destinations are resolved once, every address is vetted (no private, loopback,
link-local, multicast or reserved ones unless WEBHOOK_ALLOW_PRIVATE_URLS), and the
connection goes to the vetted address itself, with the original Host header and
TLS server name, so a second DNS answer cannot redirect it (DNS rebinding).
"""

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import requests
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from requests.adapters import HTTPAdapter

DEFAULT_PORTS = {"http": 80, "https": 443}
EXCERPT_BYTES = 1024

logger = logging.getLogger(__name__)


class UnsafeDestination(Exception):
    """The URL is not http(s) or points at an address webhooks may not reach."""


class DestinationUnresolvable(Exception):
    """DNS gave no answer (may be transient)."""


@dataclass(frozen=True)
class WebhookResponse:
    status_code: int | None
    duration_ms: int
    excerpt: str
    error: str


def webhook_sign(*, secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, keyed with the secret after ``whsec_``."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def webhook_body(payload: dict) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, sort_keys=False)


def address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.is_site_local:
            return False
        # IPv4-mapped, 6to4 and Teredo addresses reach the IPv4 address they carry
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            ip = embedded
    return ip.is_global and not (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved
        or ip.is_unspecified
    )


def url_check(url: str) -> None:
    """Refuses a URL that is not http(s), has no host or carries credentials (no DNS)."""
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a bad port
    except ValueError as exc:
        raise UnsafeDestination("The URL is malformed.") from exc
    if parts.scheme not in DEFAULT_PORTS:
        raise UnsafeDestination("Only http and https URLs are allowed.")
    if not parts.hostname:
        raise UnsafeDestination("The URL has no host.")
    if port == 0:
        raise UnsafeDestination("The URL's port must be between 1 and 65535.")
    try:
        ascii_hostname(parts.hostname)
    except UnicodeError as exc:
        raise UnsafeDestination("The URL's host name is not a valid internationalised domain name.") from exc
    if parts.username or parts.password:
        raise UnsafeDestination("The URL must not carry credentials.")


def ascii_hostname(hostname: str) -> str:
    """The host name as sent in ``Host`` and TLS SNI: IDNA (punycode) for an internationalised one."""
    if hostname.isascii():
        return hostname
    return hostname.encode("idna").decode("ascii")


def _getaddrinfo(host: str, port: int):
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)


def destination_resolve(url: str) -> str:
    """The vetted IP address to connect to for ``url``.

    Raises UnsafeDestination when any address of the host is not public (unless
    WEBHOOK_ALLOW_PRIVATE_URLS) and DestinationUnresolvable when DNS has no answer.
    """
    url_check(url)
    parts = urlsplit(url)
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    try:
        infos = _getaddrinfo(ascii_hostname(parts.hostname), port)
    except (socket.gaierror, UnicodeError) as exc:
        raise DestinationUnresolvable(f"{parts.hostname} does not resolve.") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise DestinationUnresolvable(f"{parts.hostname} does not resolve.")
    if not settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        for address in addresses:
            if not address_is_public(address):
                # Every answer must be public: one private answer is enough to refuse.
                raise UnsafeDestination(f"{parts.hostname} resolves to a non-public address.")
    return addresses[0].split("%", 1)[0]


class PinnedHostAdapter(HTTPAdapter):
    """Connects to a vetted IP while TLS still sends and verifies the original host name."""

    def __init__(self, hostname: str, **kwargs) -> None:
        self.hostname = hostname
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["server_hostname"] = self.hostname
        kwargs["assert_hostname"] = self.hostname
        return super().init_poolmanager(*args, **kwargs)


def webhook_post(*, url: str, headers: dict[str, str], body: str) -> WebhookResponse:
    """POSTs once, never following redirects; network problems (and any other failure to send)
    come back in ``error``, so every attempt is logged and counted.

    Raises UnsafeDestination (permanent) before any connection is made.
    """
    started = time.monotonic()
    try:
        address = destination_resolve(url)
    except DestinationUnresolvable as exc:
        return WebhookResponse(None, _elapsed(started), "", str(exc))
    try:
        return _post_pinned(url=url, address=address, headers=headers, body=body, started=started)
    except SoftTimeLimitExceeded:
        return WebhookResponse(None, _elapsed(started), "", "Timed out: the attempt hit its total time limit.")
    except Exception as exc:  # a bug or an odd answer must not leave the delivery claimed and unlogged
        logger.exception("webhook POST to %s failed unexpectedly", urlsplit(url).hostname)
        return WebhookResponse(None, _elapsed(started), "", f"{type(exc).__name__}: {exc}"[:500])


def _post_pinned(*, url: str, address: str, headers: dict[str, str], body: str, started: float) -> WebhookResponse:
    parts = urlsplit(url)
    hostname = ascii_hostname(parts.hostname)
    pinned_host = f"[{address}]" if ":" in address else address
    if parts.port:
        pinned_host += f":{parts.port}"
    host_header = hostname if not parts.port else f"{hostname}:{parts.port}"
    if ":" in hostname:  # an IPv6 literal
        host_header = f"[{hostname}]" + (f":{parts.port}" if parts.port else "")
    pinned_url = urlunsplit((parts.scheme, pinned_host, parts.path or "/", parts.query, ""))
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    with requests.Session() as session:
        session.trust_env = False  # no proxies from the environment: we connect where we vetted
        session.mount("https://", PinnedHostAdapter(hostname, max_retries=0))
        session.mount("http://", HTTPAdapter(max_retries=0))
        try:
            response = session.post(
                pinned_url,
                data=body.encode(),
                headers={**headers, "Host": host_header},
                timeout=(timeout, timeout),
                allow_redirects=False,
                stream=True,
            )
        except requests.RequestException as exc:
            return WebhookResponse(None, _elapsed(started), "", f"{type(exc).__name__}: {exc}"[:500])
        try:
            raw = _read_excerpt(response, deadline=started + 2 * timeout)
        except Exception as exc:  # a response that breaks off still has its status code
            raw = f"(unreadable body: {type(exc).__name__})".encode()
        finally:
            response.close()
    return WebhookResponse(response.status_code, _elapsed(started), raw[:EXCERPT_BYTES].decode(errors="replace"), "")


def _read_excerpt(response, *, deadline: float) -> bytes:
    """Up to EXCERPT_BYTES of the body, giving up at ``deadline`` (a server dripping bytes cannot hold us)."""
    raw = b""
    while len(raw) < EXCERPT_BYTES and time.monotonic() < deadline:
        chunk = response.raw.read1(EXCERPT_BYTES - len(raw), decode_content=True)
        if not chunk:
            break
        raw += chunk
    return raw


def _elapsed(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
