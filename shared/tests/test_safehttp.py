"""The hardened outbound client against real sockets: local servers on 127.0.0.1 (reachable only through an
explicit allow-list), a real TLS server with a private CA, and injected resolvers for the DNS cases."""

from __future__ import annotations

import http.server
import ipaddress
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.servers import free_port
from tests.support.tls import TestCA
from wikibot_shared.safehttp import (
    BlockedAddress,
    FetchError,
    FetchTimeout,
    Policy,
    ResponseTooLarge,
    SafeHttp,
    UnsafeURL,
    blocked_reason,
    parse_networks,
)

LOCAL = parse_networks("127.0.0.1")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hits: list[str]
    released: threading.Event  # set once the test is over: "/slow" answers only then

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.hits.append(self.path)
        if self.path == "/ok":
            self._send(200, b'{"ok": true}', {"Content-Type": "application/json"})
        elif self.path == "/redirect":
            self._send(302, b"", {"Location": "/ok"})
        elif self.path == "/big":
            self._send(200, b"x" * 2_000_000)
        elif self.path == "/big-chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for _ in range(40):
                chunk = b"y" * 65536
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/lying-length":
            self.send_response(200)
            self.send_header("Content-Length", "10")
            self.end_headers()
            self.wfile.write(b"z" * 10)
        elif self.path == "/slow":
            self.released.wait(10)  # no answer while a test waits for its read timeout
            self._send(200, b"late")
        elif self.path == "/drip":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for _ in range(30):
                self.wfile.write(b"1\r\na\r\n")
                self.wfile.flush()
                time.sleep(0.1)
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/not-json":
            self._send(200, b"<html>", {"Content-Type": "application/json"})
        else:
            self._send(404, b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        self.hits.append(f"POST {self.path} {self.headers.get('Content-Type')} {body.decode()}")
        self._send(201, body)


class Served:
    def __init__(self, server: http.server.ThreadingHTTPServer, hits: list[str], scheme: str) -> None:
        self.server = server
        self.hits = hits
        self.port = int(server.server_address[1])
        self.scheme = scheme

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"


def _serve(wrap: Callable[[http.server.ThreadingHTTPServer], None] | None = None) -> Iterator[Served]:
    hits: list[str] = []
    released = threading.Event()
    handler = type("H", (Handler,), {"hits": hits, "released": released})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    if wrap:
        wrap(server)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield Served(server, hits, "https" if wrap else "http")
    released.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def web() -> Iterator[Served]:
    yield from _serve()


@pytest.fixture
def ca(tmp_path: Path) -> TestCA:
    return TestCA(tmp_path / "ca")


@pytest.fixture
def tls_web(ca: TestCA) -> Iterator[Served]:
    cert = ca.issue("wiki.e2e.internal")

    def wrap(server: http.server.ThreadingHTTPServer) -> None:
        server.socket = cert.server_context().wrap_socket(server.socket, server_side=True)

    yield from _serve(wrap)


def local_client(**kw: object) -> SafeHttp:
    return SafeHttp(Policy(allow_http=True, allow_networks=LOCAL, **kw))  # type: ignore[arg-type]


def never_resolve(host: str, port: int) -> list[str]:
    raise AssertionError(f"resolver called for {host}")


# -- the address classes -------------------------------------------------------------------------------

BLOCKED = [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("::1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("fc00::1", "private"),
    ("fd12:3456::1", "private"),
    ("169.254.1.1", "link-local"),
    ("fe80::1", "link-local"),
    ("169.254.169.254", "cloud-metadata"),
    ("169.254.170.2", "cloud-metadata"),
    ("fd00:ec2::254", "cloud-metadata"),
    ("100.100.100.200", "cloud-metadata"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("ff02::1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("0.0.0.0", "unspecified"),  # noqa: S104
    ("::", "unspecified"),
    ("100.64.0.1", "shared"),
    ("192.0.2.10", "private"),  # TEST-NET-1 (documentation)
    ("198.18.0.1", "private"),  # benchmarking
    ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
    ("::ffff:169.254.169.254", "cloud-metadata"),
    ("2002:7f00:1::1", "loopback"),  # 6to4 around 127.0.0.1
    ("2002:a00:1::1", "private"),  # 6to4 around 10.0.0.1
    ("64:ff9b::a9fe:a9fe", "cloud-metadata"),  # NAT64 around 169.254.169.254
    ("64:ff9b::7f00:1", "loopback"),
]


@pytest.mark.parametrize(("address", "reason"), BLOCKED)
def test_every_internal_address_class_is_named(address: str, reason: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.4.4"])
def test_public_unicast_addresses_pass(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(("address", "reason"), BLOCKED)
def test_ip_literal_urls_are_refused_before_connecting(address: str, reason: str) -> None:
    host = f"[{address}]" if ":" in address else address
    with SafeHttp(Policy(connect_timeout=0.2), resolver=never_resolve) as client:
        started = time.monotonic()
        with pytest.raises(BlockedAddress) as err:
            client.get(f"https://{host}/")
    assert err.value.reason == reason
    assert time.monotonic() - started < 0.2  # refused, not timed out
    assert err.value.status == 400


@pytest.mark.parametrize(("address", "reason"), BLOCKED)
def test_names_are_checked_after_resolution(address: str, reason: str) -> None:
    seen: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        seen.append(host)
        return [address]

    with (
        SafeHttp(Policy(connect_timeout=0.2), resolver=resolve) as client,
        pytest.raises(BlockedAddress) as err,
    ):
        client.get("https://innocent.example.net/")
    assert err.value.reason == reason
    assert seen == ["innocent.example.net"]


def test_one_bad_answer_among_good_ones_refuses_the_name() -> None:
    with (
        SafeHttp(resolver=lambda h, p: ["93.184.215.14", "10.0.0.7"]) as client,
        pytest.raises(BlockedAddress, match="private"),
    ):
        client.get("https://mixed.example.net/")


def test_localhost_resolves_to_loopback_and_is_refused() -> None:
    with SafeHttp(Policy(allow_http=True)) as client, pytest.raises(BlockedAddress, match="loopback"):
        client.get(f"http://localhost:{free_port()}/")


def test_unresolvable_names_fail_cleanly() -> None:
    with SafeHttp() as client, pytest.raises(FetchError, match="cannot resolve"):
        client.get("https://no-such-host.invalid/")


# -- URL form ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://example.net/", "only https"),
        ("ftp://example.net/", "only https"),
        ("file:///etc/passwd", "only https"),
        ("gopher://example.net/", "only https"),
        ("https://user:pw@example.net/", "credentials"),
        ("https:///path", "no host"),
        ("https://example.net:99999/", "malformed"),
    ],
)
def test_url_form_is_checked(url: str, message: str) -> None:
    with SafeHttp(resolver=never_resolve) as client, pytest.raises(UnsafeURL, match=message):
        client.get(url)


def test_http_needs_the_explicit_policy(web: Served) -> None:
    with SafeHttp(Policy(allow_networks=LOCAL)) as strict, pytest.raises(UnsafeURL, match="only https"):
        strict.get(web.url("/ok"))
    assert web.hits == []
    with local_client() as relaxed:
        assert relaxed.get(web.url("/ok")).json() == {"ok": True}


# -- the allow-list (tests only) -------------------------------------------------------------------------


def test_loopback_is_reachable_only_through_the_allow_list(web: Served) -> None:
    with SafeHttp(Policy(allow_http=True)) as client, pytest.raises(BlockedAddress, match="loopback"):
        client.get(web.url("/ok"))
    assert web.hits == []
    with local_client() as client:
        response = client.get(web.url("/ok"))
    assert response.status_code == 200
    assert response.header("content-type") == "application/json"
    assert web.hits == ["/ok"]


def test_an_allow_list_entry_opens_only_itself(web: Served) -> None:
    policy = Policy(allow_http=True, allow_networks=parse_networks("127.0.0.2/32, 10.0.0.0/8"))
    with SafeHttp(policy) as client, pytest.raises(BlockedAddress):
        client.get(web.url("/ok"))


def test_parse_networks() -> None:
    nets = parse_networks(" 127.0.0.1 , ::1,10.0.0.0/8,")
    assert [str(n) for n in nets] == ["127.0.0.1/32", "::1/128", "10.0.0.0/8"]
    with pytest.raises(ValueError, match="does not appear"):
        parse_networks("not-an-address")


# -- behaviour on the wire -------------------------------------------------------------------------------


def test_redirects_are_returned_not_followed(web: Served) -> None:
    with local_client() as client:
        response = client.get(web.url("/redirect"))
    assert response.status_code == 302
    assert response.is_redirect
    assert response.header("location") == "/ok"
    assert web.hits == ["/redirect"]


@pytest.mark.parametrize("path", ["/big", "/big-chunked"])
def test_bodies_are_capped(web: Served, path: str) -> None:
    with local_client(max_bytes=1_000_000) as client, pytest.raises(ResponseTooLarge):
        client.get(web.url(path))
    with local_client() as client:
        assert len(client.get(web.url(path), max_bytes=3_000_000).content) > 1_000_000


def test_read_timeout(web: Served) -> None:
    with local_client(read_timeout=0.3) as client:
        started = time.monotonic()
        with pytest.raises(FetchTimeout) as err:
            client.get(web.url("/slow"))
    assert time.monotonic() - started < 1.4
    assert err.value.status == 504


def test_overall_deadline_stops_a_drip_feed(web: Served) -> None:
    with local_client(read_timeout=1.0, deadline=0.5) as client:
        started = time.monotonic()
        with pytest.raises(FetchTimeout, match="longer than"):
            client.get(web.url("/drip"))
    assert time.monotonic() - started < 2.5


def test_connection_refused_is_a_fetch_error() -> None:
    with local_client() as client, pytest.raises(FetchError, match="cannot connect"):
        client.get(f"http://127.0.0.1:{free_port()}/")


def test_malformed_json_is_a_fetch_error(web: Served) -> None:
    with local_client() as client:
        response = client.get(web.url("/not-json"))
    with pytest.raises(FetchError, match="malformed JSON"):
        response.json()


def test_post_form_and_json(web: Served) -> None:
    with local_client() as client:
        assert client.post(web.url("/f"), form={"a": "1 2", "b": "é"}).status_code == 201
        assert client.post(web.url("/j"), json={"x": [1]}).content == b'{"x": [1]}'
    assert web.hits == [
        "POST /f application/x-www-form-urlencoded a=1+2&b=%C3%A9",
        'POST /j application/json {"x": [1]}',
    ]


def test_the_connection_goes_to_the_checked_address_only() -> None:
    """DNS rebinding: the name is resolved once per connection, by us, and the socket connects to the very
    address that passed the check. The name is unresolvable by the system, so any second lookup would fail."""
    hits: list[str] = []
    handler = type("H", (Handler,), {"hits": hits})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    answers = iter([["127.0.0.1"], ["10.9.8.7"]])
    calls: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return next(answers)

    try:
        client = SafeHttp(Policy(allow_http=True, allow_networks=LOCAL), resolver=rebinding)
        url = f"http://rebind.invalid:{server.server_address[1]}/ok"
        assert client.get(url).json() == {"ok": True}
        assert calls == ["rebind.invalid"]
        client.close()  # a new connection resolves again, and the new answer is checked again
        client = SafeHttp(Policy(allow_http=True, allow_networks=LOCAL), resolver=rebinding)
        with pytest.raises(BlockedAddress, match="private"):
            client.get(url)
        assert calls == ["rebind.invalid", "rebind.invalid"]
        assert hits == ["/ok"]
    finally:
        server.shutdown()
        server.server_close()


# -- TLS ---------------------------------------------------------------------------------------------------


def test_tls_with_an_extra_ca_and_a_static_hosts_entry(tls_web: Served, ca: TestCA) -> None:
    policy = Policy(allow_networks=LOCAL, hosts={"wiki.e2e.internal": "127.0.0.1"}, ca_bundle=ca.cafile)
    with SafeHttp(policy, resolver=never_resolve) as client:
        assert client.get(tls_web.url("/ok", host="wiki.e2e.internal")).json() == {"ok": True}


def test_tls_refuses_an_unknown_ca(tls_web: Served) -> None:
    policy = Policy(allow_networks=LOCAL, hosts={"wiki.e2e.internal": "127.0.0.1"})
    with SafeHttp(policy) as client, pytest.raises(FetchError, match="CERTIFICATE_VERIFY_FAILED"):
        client.get(tls_web.url("/ok", host="wiki.e2e.internal"))
    assert tls_web.hits == []


def test_tls_checks_the_name_not_the_address(tls_web: Served, ca: TestCA) -> None:
    policy = Policy(allow_networks=LOCAL, hosts={"other.e2e.internal": "127.0.0.1"}, ca_bundle=ca.cafile)
    with SafeHttp(policy) as client, pytest.raises(FetchError, match="CERTIFICATE_VERIFY_FAILED"):
        client.get(tls_web.url("/ok", host="other.e2e.internal"))


def test_policy_reports_whether_it_was_widened() -> None:
    assert not Policy().is_widened
    assert Policy(allow_http=True).is_widened
    assert Policy(allow_networks=LOCAL).is_widened
    assert Policy(hosts={"a.test": "127.0.0.1"}).is_widened
