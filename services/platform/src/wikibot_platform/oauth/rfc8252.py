"""RFC 8252 (OAuth 2.0 for native apps) §7.3: loopback redirect URIs, where the port is the client's to choose."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit

LOOPBACK_NAMES = ("localhost",)  # §8.3 prefers IP literals; MCP clients register "localhost" all the same


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def without_loopback_port(uri: str) -> str | None:
    """An http loopback URI without its port (everything else kept, to be compared exactly), or None for any
    other URI: §7.3 "MUST allow any port to be specified at the time of the request"."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return None
    if parts.scheme != "http" or not parts.hostname or not is_loopback(parts.hostname):
        return None
    if parts.username is not None or parts.password is not None:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return urlunsplit(("http", host, parts.path, parts.query, parts.fragment))
