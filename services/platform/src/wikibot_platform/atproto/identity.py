"""ATProto identity: what the person typed → DID → DID document → PDS, with the handle verified both ways.

Handles resolve by DNS TXT ``_atproto.{handle}`` then ``https://{handle}/.well-known/atproto-did``
(atproto.com/specs/handle#handle-resolution), or — when the operator configures it, e.g. in tests — through a
service's ``com.atproto.identity.resolveHandle``. DIDs resolve through the PLC directory (``did:plc``) or
``https://{host}/.well-known/did.json`` (``did:web``, hostname-level only: atproto.com/specs/did). Every fetch
goes through the hardened client.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, unquote, urlsplit

import dns.exception
import dns.resolver

from wikibot_shared.safehttp import FetchError, SafeHttp

from .discovery import origin_of
from .errors import IdentityError

# atproto.com/specs/handle#handle-identifier-syntax
HANDLE_RE = re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
PLC_RE = re.compile(r"^did:plc:[a-z2-7]{24}$")
WEB_RE = re.compile(r"^did:web:[a-zA-Z0-9.-]+(%3[aA][0-9]{1,5})?$")
DID_FIELD_LIMIT = 64 * 1024


def is_handle(value: str) -> bool:
    return len(value) <= 253 and HANDLE_RE.match(value) is not None


def is_did(value: str) -> bool:
    return PLC_RE.match(value) is not None or WEB_RE.match(value) is not None


@dataclass(frozen=True)
class Identifier:
    kind: Literal["handle", "did", "url"]
    value: str


def parse_identifier(text: str, default_suffix: str) -> Identifier:
    """``@alice.bsky.social``, ``alice`` (→ ``alice.{default_suffix}``), ``did:plc:…``, ``did:web:…`` or a
    PDS URL."""
    value = text.strip()
    if not value:
        raise IdentityError("enter your handle (like alice.bsky.social), your DID or your PDS's address")
    if len(value) > 2048:
        raise IdentityError("that is far too long for a handle, DID or URL")
    if value.startswith(("https://", "http://")):
        parts = urlsplit(value)
        if not parts.hostname or parts.username or parts.password or parts.query or parts.fragment:
            raise IdentityError("a PDS address looks like https://pds.example.com")
        return Identifier("url", f"{parts.scheme}://{parts.netloc.lower()}")
    if value.startswith("did:"):
        if not is_did(value):
            raise IdentityError("only did:plc and did:web identities can sign in here")
        return Identifier("did", value)
    handle = value.removeprefix("at://").removeprefix("@").lower().rstrip(".")
    if "." not in handle and handle:
        handle = f"{handle}.{default_suffix}"
    if not is_handle(handle):
        raise IdentityError(f"{text.strip()!r} is not a valid handle (like alice.bsky.social)")
    return Identifier("handle", handle)


@dataclass(frozen=True)
class DidDocument:
    did: str
    handle: str | None  # the first at:// alias, syntax-checked, NOT yet verified
    pds_url: str | None


@dataclass(frozen=True)
class Identity:
    did: str
    handle: str | None  # verified both ways, else None
    pds_url: str


def parse_did_document(did: str, doc: Any, *, allow_http: bool) -> DidDocument:
    if not isinstance(doc, dict) or doc.get("id") != did:
        raise IdentityError(f"the DID document of {did} does not describe {did}")
    handle = None
    for alias in doc.get("alsoKnownAs") or []:
        if isinstance(alias, str) and alias.startswith("at://"):
            candidate = alias[5:].lower()
            handle = candidate if is_handle(candidate) else None
            break
    pds_url = None
    for service in doc.get("service") or []:
        if not isinstance(service, dict):
            continue
        sid = service.get("id")
        if (sid == "#atproto_pds" or sid == f"{did}#atproto_pds") and (
            service.get("type") == "AtprotoPersonalDataServer"
        ):
            endpoint = service.get("serviceEndpoint")
            pds_url = origin_of(endpoint, allow_http=allow_http) if isinstance(endpoint, str) else None
            break
    return DidDocument(did, handle, pds_url)


@dataclass
class IdentityResolver:
    http: SafeHttp
    plc_url: str = "https://plc.directory"
    handle_resolution: Literal["dns-https", "xrpc"] = "dns-https"
    handle_resolver_url: str | None = None
    dns_nameservers: tuple[str, ...] = ()  # addresses; empty: the system's
    dns_port: int = 53
    dns_timeout: float = 3.0

    # -- handles ---------------------------------------------------------------------------------------------
    def resolve_handle(self, handle: str) -> str | None:
        """The DID a handle claims, or None if it claims none."""
        if self.handle_resolution == "xrpc":
            return self._handle_via_xrpc(handle)
        return self._handle_via_dns(handle) or self._handle_via_https(handle)

    def _handle_via_dns(self, handle: str) -> str | None:
        resolver = dns.resolver.Resolver(configure=not self.dns_nameservers)
        if self.dns_nameservers:
            resolver.nameservers = list(self.dns_nameservers)
            resolver.port = self.dns_port
        resolver.lifetime = self.dns_timeout
        try:
            answer = resolver.resolve(f"_atproto.{handle}", "TXT")
        except (dns.exception.DNSException, ValueError):
            return None
        found = set()
        for record in answer:
            text = b"".join(record.strings).decode("ascii", errors="replace")
            if text.startswith("did="):
                found.add(text[4:].strip())
        # atproto.com/specs/handle: more than one distinct DID is an error, not a choice
        if len(found) != 1:
            return None
        did = found.pop()
        return did if is_did(did) else None

    def _handle_via_https(self, handle: str) -> str | None:
        try:
            response = self.http.get(f"https://{handle}/.well-known/atproto-did", max_bytes=2048)
        except FetchError:
            return None
        if response.status_code != 200:
            return None
        lines = response.text.strip().splitlines()
        did = lines[0].strip() if lines else ""
        return did if is_did(did) else None

    def _handle_via_xrpc(self, handle: str) -> str | None:
        assert self.handle_resolver_url
        url = f"{self.handle_resolver_url.rstrip('/')}/xrpc/com.atproto.identity.resolveHandle?handle={quote(handle)}"
        try:
            response = self.http.get(url, max_bytes=4096)
            data = response.json() if response.status_code == 200 else None
        except FetchError:
            return None
        did = data.get("did") if isinstance(data, dict) else None
        return did if isinstance(did, str) and is_did(did) else None

    # -- DIDs ------------------------------------------------------------------------------------------------
    def did_document(self, did: str) -> DidDocument:
        if did.startswith("did:plc:"):
            url = f"{self.plc_url.rstrip('/')}/{did}"
        else:
            url = f"https://{unquote(did[len('did:web:') :])}/.well-known/did.json"
        try:
            response = self.http.get(url, max_bytes=DID_FIELD_LIMIT)
        except FetchError as exc:
            raise IdentityError(f"could not fetch the DID document of {did}: {exc.message}") from None
        if response.status_code == 404 or response.status_code == 410:
            raise IdentityError(f"{did} does not exist (or was deactivated)")
        if response.status_code != 200:
            raise IdentityError(f"could not fetch the DID document of {did} (HTTP {response.status_code})")
        try:
            doc = response.json()
        except FetchError:
            raise IdentityError(f"the DID document of {did} is not valid JSON") from None
        return parse_did_document(did, doc, allow_http=self.http.policy.allow_http)

    def verified_handle(self, doc: DidDocument) -> str | None:
        """The document's handle if it resolves back to the same DID (atproto.com/specs/handle#handle-resolution)."""
        if doc.handle is None:
            return None
        return doc.handle if self.resolve_handle(doc.handle) == doc.did else None

    # -- what the person typed ---------------------------------------------------------------------------------
    def resolve(self, identifier: Identifier) -> Identity:
        """Handle or DID → verified identity with its PDS (not for PDS URLs: those learn the DID at the end)."""
        if identifier.kind == "handle":
            did = self.resolve_handle(identifier.value)
            if did is None:
                raise IdentityError(f"the handle {identifier.value} does not resolve to any account")
            doc = self.did_document(did)
            if doc.handle != identifier.value:  # the DID must claim the handle back
                raise IdentityError(
                    f"the handle {identifier.value} points to {did}, but that account does not claim "
                    f"{identifier.value} as its handle"
                )
            handle: str | None = identifier.value
        elif identifier.kind == "did":
            doc = self.did_document(identifier.value)
            handle = self.verified_handle(doc)
        else:
            raise ValueError("resolve() takes a handle or a DID")
        if doc.pds_url is None:
            raise IdentityError(f"the DID document of {doc.did} names no usable PDS")
        return Identity(doc.did, handle, doc.pds_url)

    def verified_did(self, handle: str) -> str | None:
        """The DID of ``handle`` if its DID document claims the handle back, else None (never raises)."""
        try:
            did = self.resolve_handle(handle)
            return did if did is not None and self.did_document(did).handle == handle else None
        except IdentityError:
            return None

    def identity_of(self, did: str) -> Identity:
        return self.resolve(Identifier("did", did))
