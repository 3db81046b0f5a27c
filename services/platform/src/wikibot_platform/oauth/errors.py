"""OAuth errors: authlib's ``OAuth2Error`` tree, plus the codes authlib lacks, and how they become responses.

Every error of this authorization server is an ``OAuth2Error`` with an RFC 6749 §5.2 code. Bodies carry the
standard ``error`` / ``error_description`` and, like every other platform error, a ``message``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2.base import OAuth2Error
from authlib.oauth2.rfc6749.errors import InvalidClientError, InvalidRequestError

__all__ = [
    "InvalidClientError",
    "InvalidRequestError",
    "InvalidTargetError",
    "OAuth2Error",
    "OAuthResponse",
    "RegistrationTooLarge",
    "ascii_text",
    "error_body",
    "explained",
]


class InvalidTargetError(OAuth2Error):  # type: ignore[misc]
    """RFC 8707 §2: the requested resource is invalid, unknown or malformed."""

    error = "invalid_target"


class RegistrationTooLarge(OAuth2Error):  # type: ignore[misc]
    """RFC 7591 §3.2.2 has no code for size; the request is refused before it is parsed."""

    error = "invalid_client_metadata"
    status_code = 413


def ascii_text(text: str, limit: int = 300) -> str:
    """``text`` reduced to what RFC 6749 §5.2 allows in ``error_description`` (%x20-21 / %x23-5B / %x5D-7E)."""
    allowed = [c if (0x20 <= ord(c) <= 0x7E and c not in '"\\') else ("'" if c == '"' else " ") for c in text]
    reduced = " ".join("".join(allowed).split())
    return reduced[:limit]


# Said when authlib raised an error without a description, so every error body explains itself.
DEFAULT_DESCRIPTIONS = {
    "invalid_request": "the request is missing a parameter or is malformed",
    "invalid_client": "client authentication failed or the client is unknown",
    "invalid_grant": "the code or refresh token is invalid, expired, revoked or was issued to another client",
    "unauthorized_client": "this client may not use this grant type",
    "unsupported_grant_type": "supported grant types are authorization_code and refresh_token",
    "invalid_scope": "the requested scope is invalid; supported: wiki:read wiki:write offline_access",
    "invalid_target": "the resource is not one of this server's wikis",
    "access_denied": "the user or the server denied the request",
    "unsupported_response_type": "the only supported response_type is code",
}


def explained(body: dict[str, Any]) -> dict[str, Any]:
    """An RFC 6749 §5.2 error body with a description and the platform's ``message``."""
    code = str(body.get("error", ""))
    description = body.get("error_description") or DEFAULT_DESCRIPTIONS.get(code, code.replace("_", " "))
    return {**body, "error_description": description, "message": description}


def error_body(error: OAuth2Error) -> dict[str, Any]:
    return explained(dict(error.get_body()))


@dataclass
class OAuthResponse:
    """What authlib's server hands back (``handle_response``), before the web layer renders it.

    ``location`` is read and rewritten by authlib's RFC 9207 ``IssuerParameter`` extension."""

    status: int
    body: Any
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def location(self) -> str | None:
        return next((v for k, v in self.headers if k.lower() == "location"), None)

    @location.setter
    def location(self, value: str) -> None:
        self.headers = [(k, v) for k, v in self.headers if k.lower() != "location"] + [("Location", value)]

    @property
    def is_redirect(self) -> bool:
        return self.status in (302, 303) and self.location is not None
