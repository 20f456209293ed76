"""Client address, scheme and Host rules (controller/origin.py) as plain functions."""

import pytest
from tornado.httputil import HTTPHeaders

from config import DEFAULT_ALLOWED_HOSTS, DEFAULT_TRUSTED_PROXIES
from controller.origin import AllowedHosts, TrustedProxies, split_host


def headers(**values):
    result = HTTPHeaders()
    for name, value in values.items():
        result.add(name.replace("_", "-"), value)
    return result


def test_an_untrusted_peer_is_the_client_whatever_it_says():
    proxies = TrustedProxies(["10.0.0.0/8"])
    forged = headers(X_Real_IP="1.2.3.4", X_Forwarded_For="1.2.3.4", X_Forwarded_Proto="https")
    assert proxies.client("203.0.113.9", forged) == "203.0.113.9"
    assert proxies.scheme("203.0.113.9", forged, "http") == "http"


def test_through_trusted_proxies_the_right_most_untrusted_address_counts():
    proxies = TrustedProxies((*DEFAULT_TRUSTED_PROXIES, "10.0.0.0/8"))
    chain = headers(X_Forwarded_For="6.6.6.6, 198.51.100.4, 10.1.2.3", X_Real_IP="10.1.2.3")
    assert proxies.client("127.0.0.1", chain) == "198.51.100.4"
    assert proxies.client("::1", headers(X_Real_IP="198.51.100.5")) == "198.51.100.5"
    # Only trusted hops: the nearest one nginx named, else the first address.
    assert proxies.client("127.0.0.1", headers(X_Forwarded_For="127.0.0.1")) == "127.0.0.1"
    assert proxies.client("127.0.0.1", headers(X_Forwarded_For="junk, nonsense")) == "127.0.0.1"
    assert proxies.client("127.0.0.1", headers()) == "127.0.0.1"
    assert (
        proxies.client("127.0.0.1", headers(X_Forwarded_For="[2001:db8::1]:443")) == "2001:db8::1"
    )
    assert proxies.scheme("127.0.0.1", headers(X_Forwarded_Proto="https"), "http") == "https"
    assert proxies.scheme("127.0.0.1", headers(X_Forwarded_Proto="gopher"), "http") == "http"


def test_bad_trusted_proxies_are_an_error_at_start():
    with pytest.raises(SystemExit):
        TrustedProxies(["not-an-address"])


def test_hosts():
    assert split_host("[::1]:8080") == ("[::1]", "8080")
    assert split_host("Example.org") == ("example.org", "")
    default = AllowedHosts(DEFAULT_ALLOWED_HOSTS)
    for host in ("127.0.0.1", "127.0.0.1:8080", "localhost:1", "[::1]", "[::1]:8080"):
        assert default.allows(host), host
    for host in ("evil.example", "localhost.evil", "127.0.0.1@evil", "", "[::2]"):
        assert not default.allows(host), host
    with_base = AllowedHosts([], "https://blog.example.org")
    assert with_base.allows("blog.example.org") and with_base.allows("BLOG.example.org:443")
    assert not with_base.allows("example.org")
    ported = AllowedHosts(["example.org:8443", "*.example.net", "*"])
    assert ported.allows("anything")
    assert AllowedHosts(["example.org:8443"]).allows("example.org:8443")
    assert not AllowedHosts(["example.org:8443"]).allows("example.org")
    assert AllowedHosts(["*.example.net"]).allows("a.example.net")
    assert not AllowedHosts(["*.example.net"]).allows("a.example.net.evil")
