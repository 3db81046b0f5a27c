"""Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document, the MCP 2025-11 client model).

A ``client_id`` that is an https URL names a JSON document describing the client. It is fetched through the
hardened HTTP client only (no private addresses, no redirects, size-capped), validated like a registration,
kept in ``oauth_clients`` (grants refer to it) and trusted for ``oauth_cimd_ttl`` seconds before it is fetched
again. Such a client is public: it has no secret to present (draft §4.1: ``client_secret_*`` is refused).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

from authlib.oauth2.base import OAuth2Error
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from wikibot_shared.errors import WikibotError
from wikibot_shared.models import OAuthClient

from .errors import InvalidClientError, ascii_text
from .models import AUTH_NONE, Client
from .rfc7591 import WikibotClientMetadata

MAX_DOCUMENT_BYTES = 8 * 1024
MAX_CLIENT_ID_LENGTH = 2000

FetchJson = Callable[[str], dict[str, Any]]
"""Fetch a JSON object from an https URL through the hardened client; raise a ``WikibotError`` if it fails."""


class CimdError(WikibotError):
    status = 400
    code = "invalid_client"


class HardenedResponse(Protocol):
    @property
    def status_code(self) -> int: ...

    @property
    def is_redirect(self) -> bool: ...

    def json(self) -> Any: ...


class HardenedClient(Protocol):
    """The part of ``wikibot_shared.safehttp.SafeHttp`` this module uses."""

    def get(
        self, url: str, *, headers: Mapping[str, str] | None = None, max_bytes: int | None = None
    ) -> HardenedResponse: ...


def fetcher_from(client: HardenedClient | None) -> FetchJson:
    """A ``FetchJson`` over the hardened client; without one, every document is refused (never fetched)."""

    def fetch(url: str) -> dict[str, Any]:
        if client is None:
            raise CimdError("client metadata documents cannot be fetched: no hardened HTTP client configured")
        response = client.get(url, headers={"Accept": "application/json"}, max_bytes=MAX_DOCUMENT_BYTES)
        if response.is_redirect:
            raise CimdError(
                "the client metadata document URL answered with a redirect, which is not followed"
            )
        if response.status_code != 200:
            raise CimdError(f"the client metadata document URL answered HTTP {response.status_code}")
        data = response.json()
        if not isinstance(data, dict):
            raise CimdError("the client metadata document is not a JSON object")
        return data

    return fetch


def is_metadata_url(client_id: str) -> bool:
    return client_id.startswith("https://")


def client_id_problem(client_id: str) -> str | None:
    """Draft §3: an https URL with a path component; no fragment, credentials or dot segments."""
    if len(client_id) > MAX_CLIENT_ID_LENGTH:
        return "client_id URL is too long"
    try:
        parts = urlsplit(client_id)
        _port = parts.port
    except ValueError:
        return "client_id is not a valid URL"
    if parts.scheme != "https" or not parts.hostname:
        return "a URL client_id must be an https URL"
    if parts.fragment or "#" in client_id:
        return "a URL client_id must not have a fragment"
    if parts.username is not None or parts.password is not None:
        return "a URL client_id must not carry credentials"
    if not parts.path or parts.path == "/":
        return "a URL client_id must have a path"
    if any(seg in (".", "..") for seg in parts.path.split("/")):
        return "a URL client_id must not contain dot segments"
    return None


def validate_document(
    client_id: str, document: dict[str, Any], server_metadata: dict[str, Any]
) -> dict[str, Any]:
    """The document's metadata, normalized, or a ``CimdError`` saying what is wrong with it."""
    if document.get("client_id") != client_id:
        raise CimdError("the client metadata document's client_id does not equal its URL")  # draft §4.1
    if "client_secret" in document or "client_secret_expires_at" in document:
        raise CimdError("a client metadata document must not contain a client secret")
    method = document.get("token_endpoint_auth_method", AUTH_NONE)
    if method != AUTH_NONE:
        raise CimdError("clients known by a metadata document must use token_endpoint_auth_method none")
    data = {k: v for k, v in document.items() if k != "client_id"}
    data["token_endpoint_auth_method"] = AUTH_NONE
    options = WikibotClientMetadata.get_claims_options(server_metadata)
    claims = WikibotClientMetadata(data, {}, options, server_metadata)
    try:
        claims.validate()
    except OAuth2Error as exc:
        raise CimdError(f"invalid client metadata document: {exc.description or exc.error}") from None
    except Exception as exc:  # noqa: BLE001 - joserfc's claim errors: name the claim, not a trace
        raise CimdError(f"invalid client metadata document: {getattr(exc, 'description', exc)}") from None
    metadata: dict[str, Any] = claims.get_registered_claims()
    metadata.setdefault("grant_types", ["authorization_code"])
    metadata.setdefault("response_types", ["code"])
    return metadata


class MetadataDocuments:
    def __init__(
        self,
        db: sessionmaker[Session],
        fetch: FetchJson,
        server_metadata: Callable[[], dict[str, Any]],
        ttl: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.fetch = fetch
        self.server_metadata = server_metadata
        self.ttl = ttl
        self.clock = clock

    def client(self, client_id: str) -> Client:
        problem = client_id_problem(client_id)
        if problem:
            raise InvalidClientError(description=ascii_text(problem))
        now = datetime.fromtimestamp(self.clock(), UTC)
        with self.db() as db:
            row = db.get(OAuthClient, client_id)
            if (
                row is not None
                and row.fetched_at is not None
                and now - row.fetched_at < timedelta(seconds=self.ttl)
            ):
                return Client.from_row(row)
        try:
            document = self.fetch(client_id)
            metadata = validate_document(client_id, document, self.server_metadata())
        except WikibotError as exc:
            raise InvalidClientError(
                description=ascii_text(
                    f"cannot use the client metadata document at {client_id}: {exc.message}"
                )
            ) from None
        return Client.from_row(self._store(client_id, metadata, now))

    def _store(self, client_id: str, metadata: dict[str, Any], now: datetime) -> OAuthClient:
        values = {
            "client_secret_hash": None,
            "client_name": metadata.get("client_name"),
            "redirect_uris": list(metadata["redirect_uris"]),
            "token_endpoint_auth_method": AUTH_NONE,
            "grant_types": list(metadata["grant_types"]),
            "scope": metadata.get("scope"),
            "client_metadata": metadata,
            "is_metadata_document": True,
            "fetched_at": now,
        }
        for _attempt in range(2):  # two workers may fetch the same new client at once
            with self.db() as db:
                row = db.get(OAuthClient, client_id)
                if row is None:
                    row = OAuthClient(client_id=client_id, **values)
                    db.add(row)
                else:
                    for key, value in values.items():
                        setattr(row, key, value)
                try:
                    db.commit()
                except IntegrityError:
                    db.rollback()
                    continue
                return row
        raise InvalidClientError(description="could not record the client; try again")
