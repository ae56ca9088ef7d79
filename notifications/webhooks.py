"""Outgoing webhook transport: Standard Webhooks signing and an SSRF-safe HTTP POST.

Destinations are resolved once, every address is vetted (none of IANA's special-purpose
ranges, SPECIAL_PURPOSE_NETWORKS, unless WEBHOOK_ALLOW_PRIVATE_URLS), and the
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


# Where an outgoing webhook may never connect, written out rather than read from the interpreter's ipaddress
# flags (which change between patch releases: 3.11.7 calls 192.0.0.192 global). Every entry of IANA's IPv4 and
# IPv6 Special-Purpose Address Registries, globally reachable or not, plus multicast and the deprecated
# site-local block; IPv6 is further limited to 2000::/3, the only global unicast space IANA allocates, so the
# reserved blocks outside it (::/8 with the IPv4-compatible ::/96, 100::/8 … 1000::/4, 4000::/3 … fe00::/9)
# are refused too. Forms that carry an IPv4 address (IPv4-mapped, NAT64, 6to4, Teredo) are refused whole.
SPECIAL_PURPOSE_NETWORKS: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "this network (RFC 791)"),
    ("10.0.0.0/8", "private use (RFC 1918)"),
    ("100.64.0.0/10", "shared address space, carrier-grade NAT (RFC 6598)"),
    ("127.0.0.0/8", "loopback (RFC 1122)"),
    ("169.254.0.0/16", "link local, cloud metadata (RFC 3927)"),
    ("172.16.0.0/12", "private use (RFC 1918)"),
    ("192.0.0.0/24", "IETF protocol assignments, cloud metadata at 192.0.0.192 (RFC 6890)"),
    ("192.0.2.0/24", "documentation, TEST-NET-1 (RFC 5737)"),
    ("192.31.196.0/24", "AS112-v4 (RFC 7535)"),
    ("192.52.193.0/24", "AMT (RFC 7450)"),
    ("192.88.99.0/24", "deprecated 6to4 relay anycast (RFC 7526)"),
    ("192.168.0.0/16", "private use (RFC 1918)"),
    ("192.175.48.0/24", "direct delegation AS112 service (RFC 7534)"),
    ("198.18.0.0/15", "benchmarking (RFC 2544)"),
    ("198.51.100.0/24", "documentation, TEST-NET-2 (RFC 5737)"),
    ("203.0.113.0/24", "documentation, TEST-NET-3 (RFC 5737)"),
    ("224.0.0.0/4", "multicast (RFC 5771)"),
    ("240.0.0.0/4", "reserved (RFC 1112), with the limited broadcast 255.255.255.255 (RFC 919)"),
    ("::/128", "unspecified (RFC 4291)"),
    ("::1/128", "loopback (RFC 4291)"),
    ("::ffff:0:0/96", "IPv4-mapped (RFC 4291)"),
    ("64:ff9b::/96", "IPv4-IPv6 translation, NAT64 (RFC 6052)"),
    ("64:ff9b:1::/48", "local-use IPv4-IPv6 translation (RFC 8215)"),
    ("100::/64", "discard-only (RFC 6666)"),
    ("100:0:0:1::/64", "dummy IPv6 prefix (IANA special-purpose registry, 2025)"),
    ("2001::/23", "IETF protocol assignments: Teredo, benchmarking, ORCHID, AMT, AS112, DRIP (RFC 2928)"),
    ("2001:db8::/32", "documentation (RFC 3849)"),
    ("2002::/16", "6to4 (RFC 3056)"),
    ("2620:4f:8000::/48", "direct delegation AS112 service (RFC 7534)"),
    ("3fff::/20", "documentation (RFC 9637)"),
    ("5f00::/16", "segment routing SIDs (RFC 9602)"),
    ("fc00::/7", "unique local (RFC 4193)"),
    ("fe80::/10", "link-local unicast (RFC 4291)"),
    ("fec0::/10", "deprecated site-local (RFC 3879)"),
    ("ff00::/8", "multicast (RFC 4291)"),
)
_REFUSED = tuple(ipaddress.ip_network(network) for network, _ in SPECIAL_PURPOSE_NETWORKS)
_IPV6_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")


def address_is_public(address: str) -> bool:
    """False for an address in SPECIAL_PURPOSE_NETWORKS (and for IPv6 outside 2000::/3)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip not in _IPV6_GLOBAL_UNICAST:
        return False
    return not any(ip in network for network in _REFUSED)


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
