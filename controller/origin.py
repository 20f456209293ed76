"""Where a request comes from: the client's address and scheme, the Host it named.

One place decides, before any handler runs (``Application.find_handler`` in main.py):

* the client address and scheme come from ``X-Forwarded-For`` / ``X-Real-IP`` /
  ``X-Forwarded-Proto`` only when the peer is a trusted proxy (``trusted_proxies``);
  otherwise from the connection itself. ``request.remote_ip`` and ``request.protocol``
  are rewritten, so the throttles, the comment limit and the access log all see the
  same address;
* a Host that is not allowed (``allowed_hosts`` and the host of ``base_url``) is a plain
  400 before any work.

And the response headers every page carries (``SECURITY_HEADERS``), set by the handlers.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

import tornado.httputil
import tornado.web

from service.rendering import EMBED_HOSTS

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Scripts only from our own files (templates load JS from static/js, nothing inline).
# Styles from our files; style *attributes* are allowed because articles' Markdown tables
# align cells with style="text-align: ..." (the sanitiser keeps only that property).
# Images from anywhere over https: articles may show remote images (http and https
# URLs pass the sanitiser; a plain-http one is blocked rather than mixed in), and video
# and audio likewise. Frames only from the players an article may embed (EMBED_HOSTS).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data: https:",
        "font-src 'self'",
        "connect-src 'self'",
        "media-src 'self' https:",
        "frame-src " + " ".join(f"https://{host}" for host in EMBED_HOSTS),
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)


def content_security_policy(script_sources: tuple[str, ...] = ()) -> str:
    """The policy, with more ``script-src`` (and ``connect-src``) sources for reader pages
    that carry the administrator's header/footer code (service.appearance)."""
    if not script_sources:
        return CONTENT_SECURITY_POLICY
    hosts = tuple(source for source in script_sources if not source.startswith("'"))
    extra = " ".join(script_sources)
    policy = CONTENT_SECURITY_POLICY.replace("script-src 'self'", f"script-src 'self' {extra}", 1)
    if hosts:
        policy = policy.replace("connect-src 'self'", "connect-src 'self' " + " ".join(hosts), 1)
    return policy


PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": PERMISSIONS_POLICY,
    "X-Frame-Options": "DENY",
}
# Uploaded files: never a document that runs anything.
MEDIA_CONTENT_SECURITY_POLICY = "default-src 'none'; sandbox"


def set_security_headers(handler: tornado.web.RequestHandler) -> None:
    for name, value in SECURITY_HEADERS.items():
        handler.set_header(name, value)


def public_base_url(request: tornado.httputil.HTTPServerRequest, base_url: str) -> str:
    """Scheme and host for absolute links: ``base_url`` when set, else the request's own
    (a Host already checked against ``allowed_hosts``)."""
    return base_url or f"{request.protocol}://{request.host}"


# --- the client's address and scheme --------------------------------------------------


def parse_networks(entries: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Addresses or CIDRs ("127.0.0.0/8", "::1", "10.0.0.5"); a bad entry is an error."""
    networks = []
    for entry in entries:
        entry = entry.strip()
        if entry:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise SystemExit(f"trusted_proxies: not an address or network: {entry!r}") from None
    return tuple(networks)


def _address(text: str) -> IPAddress | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]  # "[::1]:443"
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]  # "1.2.3.4:5678"
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


class TrustedProxies:
    def __init__(self, entries: Iterable[str]) -> None:
        self.networks = parse_networks(entries)

    def trusts(self, address: IPAddress | None) -> bool:
        return address is not None and any(
            address.version == network.version and address in network for network in self.networks
        )

    def client(self, peer: str, headers: tornado.httputil.HTTPHeaders) -> str:
        """The client's address: the peer, or what a trusted peer says it is.

        Through trusted proxies: the right-most address of X-Forwarded-For that is not a
        trusted proxy (each proxy appends the address it saw; only the right end is ours),
        else X-Real-IP, else the left-most forwarded address.
        """
        if not self.trusts(_address(peer)):
            return peer
        chain = [
            address
            for part in ",".join(headers.get_list("X-Forwarded-For")).split(",")
            if (address := _address(part)) is not None
        ]
        for address in reversed(chain):
            if not self.trusts(address):
                return str(address)
        real = _address(headers.get("X-Real-IP", ""))
        if real is not None:
            return str(real)
        return str(chain[0]) if chain else peer

    def scheme(self, peer: str, headers: tornado.httputil.HTTPHeaders, actual: str) -> str:
        """``https`` or ``http``: X-Forwarded-Proto from a trusted peer, else the connection's."""
        if not self.trusts(_address(peer)):
            return actual
        forwarded = headers.get("X-Forwarded-Proto", "").split(",")[-1].strip().lower()
        return forwarded if forwarded in ("http", "https") else actual


def resolve_client(request: tornado.httputil.HTTPServerRequest, proxies: TrustedProxies) -> None:
    """Rewrite ``remote_ip`` and ``protocol`` once, from the connection and trusted headers."""
    if getattr(request, "_inkwell_resolved", False):
        return
    request._inkwell_resolved = True  # type: ignore[attr-defined]  # a marker on Tornado's request
    peer = request.remote_ip or ""
    request.remote_ip = proxies.client(peer, request.headers)
    request.protocol = proxies.scheme(peer, request.headers, request.protocol)


# --- the Host header ------------------------------------------------------------------


def split_host(host: str) -> tuple[str, str]:
    """("name", "port") of a Host value; IPv6 keeps its brackets ("[::1]", "8080")."""
    host = host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            return host, ""
        name, rest = host[: end + 1], host[end + 1 :]
        return name, rest[1:] if rest.startswith(":") else ""
    if host.count(":") == 1:
        name, port = host.split(":", 1)
        return name, port
    return host, ""


class AllowedHosts:
    """Host patterns: "name" (any port), "name:port", ".example.org" (and subdomains), "*"."""

    def __init__(self, entries: Iterable[str], base_url: str = "") -> None:
        patterns = [entry.strip().lower() for entry in entries if entry.strip()]
        if base_url:
            patterns.append(urlsplit(base_url).netloc.lower())
        self.patterns = [split_host(pattern) for pattern in patterns]

    def allows(self, host: str) -> bool:
        name, port = split_host(host)
        if not name or any(ch in name for ch in "/\\@ \t"):
            return False
        for pattern_name, pattern_port in self.patterns:
            if pattern_port and pattern_port != port:
                continue
            if pattern_name == "*" or pattern_name == name:
                return True
            if pattern_name.startswith("*."):
                pattern_name = pattern_name[1:]
            if pattern_name.startswith(".") and (
                name.endswith(pattern_name) or name == pattern_name[1:]
            ):
                return True
        return False


class BadHostHandler(tornado.web.RequestHandler):
    """A Host the site does not answer to: a plain 400, nothing else done."""

    def set_default_headers(self) -> None:
        set_security_headers(self)
        self.set_header("Content-Type", "text/plain; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")

    def prepare(self) -> None:
        self.set_status(400)
        self.finish("400 Bad Request: unknown host\n")

    def check_xsrf_cookie(self) -> None:
        pass


def origin_allowed(origin: str, request_host: str, hosts: AllowedHosts, base_url: str) -> bool:
    """A WebSocket's ``Origin`` is this site: the base URL, or the host the request named
    (any port: nginx may pass the Host without it) when that host is allowed."""
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    if base_url and f"{parts.scheme}://{parts.netloc}" == base_url:
        return True
    same_host = split_host(parts.netloc)[0] == split_host(request_host)[0]
    return same_host and hosts.allows(parts.netloc)
