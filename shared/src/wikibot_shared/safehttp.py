"""The hardened outbound HTTP client: every fetch of a URL a user can influence goes through ``SafeHttp``.

- https only (plain http only when the policy says so: tests and loopback development, never production);
- no redirects (a 3xx is returned to the caller, never followed);
- connect/read timeouts and an overall deadline; a cap on the body size (streamed, so a lying or missing
  ``Content-Length`` cannot get past it);
- no private, loopback, link-local, multicast, reserved, unspecified, shared (CGNAT) or cloud-metadata
  addresses. The check runs on the addresses DNS returned, inside the connection step, and the socket connects
  to exactly the address that was checked: there is no second lookup, so no DNS-rebinding window.
  ``allow_networks`` (and a static ``hosts`` map) may widen this, for tests only; services refuse both in
  production.

    FetchError                502   the fetch failed (connection refused, TLS, malformed response)
    ├── UnsafeURL             400   the URL itself is unacceptable (scheme, credentials, no host)
    ├── BlockedAddress        400   the host resolves to an address we never connect to (``reason`` names the class)
    ├── FetchTimeout          504   connect/read timeout or the overall deadline passed
    └── ResponseTooLarge      502   the body exceeds ``max_bytes``
"""

from __future__ import annotations

import ipaddress
import json as jsonlib
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpcore

from .errors import WikibotError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]

USER_AGENT = "wikibot (+https://github.com/wikibot)"

# Cloud metadata services; most are link-local or private anyway, named here so the error says what they are.
CLOUD_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, …
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.169.123",  # AWS time sync
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud (classic)
        "fd00:ec2::254",  # AWS IMDS over IPv6
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: embeds an IPv4 address
_CGNAT = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598 shared address space


class FetchError(WikibotError):
    status = 502
    code = "fetch_failed"


class UnsafeURL(FetchError):
    status = 400
    code = "unsafe_url"


class BlockedAddress(FetchError):
    status = 400
    code = "blocked_address"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class FetchTimeout(FetchError):
    status = 504
    code = "fetch_timeout"


class ResponseTooLarge(FetchError):
    code = "response_too_large"


def blocked_reason(ip: IPAddress) -> str | None:
    """Why we never connect to ``ip`` (a short class name), or None when it is a public unicast address."""
    if ip in CLOUD_METADATA:
        return "cloud-metadata"
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:  # judge the IPv4 address it really reaches
            inner = blocked_reason(embedded)
            return inner if inner else None
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("shared", ip in _CGNAT),
        ("private", ip.is_private),
    )
    for name, hit in checks:
        if hit:
            return name
    return None if ip.is_global else "not-global"


@dataclass(frozen=True)
class Policy:
    """What the client may reach. The defaults are the production ones."""

    allow_http: bool = False
    allow_networks: tuple[IPNetwork, ...] = ()  # tests only: addresses reachable despite the rules above
    hosts: Mapping[str, str] = field(default_factory=dict)  # tests only: static name → address map
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    deadline: float = 20.0  # for the whole exchange, body included
    max_bytes: int = 1024 * 1024
    ca_bundle: Path | None = None  # extra CAs trusted besides the system's

    @property
    def is_widened(self) -> bool:
        return self.allow_http or bool(self.allow_networks) or bool(self.hosts)

    def check_address(self, ip: IPAddress) -> None:
        if any(ip.version == net.version and ip in net for net in self.allow_networks):
            return
        reason = blocked_reason(ip)
        if reason:
            raise BlockedAddress(f"refusing to connect to a {reason} address ({ip})", reason=reason)


def parse_networks(value: str | Iterable[str]) -> tuple[IPNetwork, ...]:
    """``"127.0.0.1, ::1, 10.0.0.0/8"`` → networks (a bare address is a /32 or /128)."""
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip())


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in seen:
            seen.append(address)
    return seen


@dataclass(frozen=True)
class Response:
    status_code: int
    headers: tuple[tuple[str, str], ...]  # names lower-cased, in order
    content: bytes
    url: str

    def header(self, name: str) -> str | None:
        name = name.lower()
        values = [v for k, v in self.headers if k == name]
        return values[-1] if values else None

    @property
    def is_redirect(self) -> bool:
        return 300 <= self.status_code < 400

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        try:
            return jsonlib.loads(self.content)
        except ValueError:
            raise FetchError(f"{_origin(self.url)} answered with malformed JSON") from None


class _GuardedBackend(httpcore.NetworkBackend):
    """Resolves, checks every address, then connects to one of exactly those addresses."""

    def __init__(self, policy: Policy, resolver: Resolver) -> None:
        self._policy = policy
        self._resolver = resolver
        self._inner = httpcore.SyncBackend()

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        name = host.strip("[]").lower().rstrip(".")
        try:
            literal: IPAddress | None = ipaddress.ip_address(name)
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [literal]
        else:
            try:
                raw = [self._policy.hosts[name]] if name in self._policy.hosts else self._resolver(name, port)
                addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in raw]
            except (OSError, UnicodeError, ValueError):
                raise FetchError(f"cannot resolve {name}") from None
        if not addresses:
            raise FetchError(f"cannot resolve {name}")
        for ip in addresses:  # any forbidden answer refuses the name: no picking the "good" one
            self._policy.check_address(ip)
        return addresses

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        last: Exception | None = None
        for ip in self.resolve(host, port):
            try:
                return self._inner.connect_tcp(str(ip), port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise UnsafeURL("unix sockets are not reachable")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class SafeHttp:
    """A small synchronous client. Thread-safe; keep one per process and ``close()`` it at shutdown."""

    def __init__(self, policy: Policy | None = None, *, resolver: Resolver = system_resolver) -> None:
        self.policy = policy or Policy()
        self._backend = _GuardedBackend(self.policy, resolver)
        context = ssl.create_default_context()
        if self.policy.ca_bundle is not None:
            context.load_verify_locations(cafile=str(self.policy.ca_bundle))
        self._pool = httpcore.ConnectionPool(
            ssl_context=context,
            network_backend=self._backend,
            max_connections=32,
            max_keepalive_connections=8,
            keepalive_expiry=30.0,
        )

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> SafeHttp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public surface ----------------------------------------------------------------------------------
    def get(
        self, url: str, *, headers: Mapping[str, str] | None = None, max_bytes: int | None = None
    ) -> Response:
        return self.request("GET", url, headers=headers, max_bytes=max_bytes)

    def post(
        self,
        url: str,
        *,
        form: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        max_bytes: int | None = None,
    ) -> Response:
        hdrs = dict(headers or {})
        body = b""
        if form is not None:
            body = urlencode(form).encode()
            hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif json is not None:
            body = jsonlib.dumps(json).encode()
            hdrs.setdefault("Content-Type", "application/json")
        return self.request("POST", url, headers=hdrs, body=body, max_bytes=max_bytes)

    def check_url(self, url: str) -> str:
        """The URL if its form is acceptable (scheme, no credentials, a host); addresses are checked on connect."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise UnsafeURL("malformed URL") from None
        allowed = ("https", "http") if self.policy.allow_http else ("https",)
        if parts.scheme not in allowed:
            raise UnsafeURL(f"only {' or '.join(allowed)} URLs are fetched (got {parts.scheme or 'none'}:)")
        if parts.username is not None or parts.password is not None:
            raise UnsafeURL("URLs with credentials are not fetched")
        if not parts.hostname:
            raise UnsafeURL("URL has no host")
        if port == 0:
            raise UnsafeURL("URL has port 0")
        return url

    def check_target(self, url: str) -> str:
        """``check_url`` and the addresses the host resolves to now (for a URL kept to be fetched later, such
        as a webhook: refused when it is set, and again, on connect, at every fetch)."""
        self.check_url(url)
        parts = urlsplit(url)
        assert parts.hostname
        self._backend.resolve(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        return url

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        max_bytes: int | None = None,
    ) -> Response:
        self.check_url(url)
        limit = self.policy.max_bytes if max_bytes is None else max_bytes
        hdrs = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **(headers or {})}
        timeout = {
            "connect": self.policy.connect_timeout,
            "read": self.policy.read_timeout,
            "write": self.policy.read_timeout,
            "pool": self.policy.connect_timeout,
        }
        started = time.monotonic()
        try:
            with self._pool.stream(
                method,
                url,
                headers=list(hdrs.items()),
                content=body or None,
                extensions={"timeout": timeout},
            ) as raw:
                declared = _content_length(raw.headers)
                if declared is not None and declared > limit:
                    raise ResponseTooLarge(f"{_origin(url)} sent more than {limit} bytes")
                chunks: list[bytes] = []
                size = 0
                for chunk in raw.iter_stream():
                    size += len(chunk)
                    if size > limit:
                        raise ResponseTooLarge(f"{_origin(url)} sent more than {limit} bytes")
                    if time.monotonic() - started > self.policy.deadline:
                        raise FetchTimeout(f"{_origin(url)} took longer than {self.policy.deadline:g} s")
                    chunks.append(chunk)
                response_headers = tuple(
                    (k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in raw.headers
                )
                return Response(raw.status, response_headers, b"".join(chunks), url)
        except FetchError:
            raise
        except httpcore.TimeoutException:
            raise FetchTimeout(f"{_origin(url)} did not answer in time") from None
        except httpcore.ConnectError as exc:
            raise FetchError(f"cannot connect to {_origin(url)}: {_reason(exc)}") from None
        except (httpcore.ProtocolError, httpcore.NetworkError) as exc:
            raise FetchError(f"{_origin(url)}: {_reason(exc)}") from None
        except (httpcore.UnsupportedProtocol, httpcore.LocalProtocolError) as exc:
            raise UnsafeURL(f"cannot fetch {url!r}: {exc}") from None
        except ssl.SSLError as exc:
            raise FetchError(f"TLS with {_origin(url)} failed: {exc.reason or exc}") from None


def _content_length(headers: Sequence[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) < 200 else text[:200] + "…"
