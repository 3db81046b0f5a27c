"""Issuing credentials: platform session JWTs, OAuth access JWTs (RFC 9068), personal access tokens.

Verification lives in ``verify``; both sides share the constants below so they cannot drift apart.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey

from .keys import ALG

SESSION_TYP = "wikibot-session+jwt"
ACCESS_TYP = "at+jwt"  # RFC 9068 §2.1
SESSION_COOKIE = "wikibot_session"

PAT_PREFIX = "wbp_"  # personal access token
REFRESH_PREFIX = "wbr_"  # OAuth refresh token (opaque)
CLIENT_SECRET_PREFIX = "wbc_"  # noqa: S105 - a prefix, not a secret (OAuth client secrets, DCR)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_opaque(prefix: str) -> tuple[str, str]:
    """A random token with 256 bits of entropy and its SHA-256 (what is stored)."""
    token = prefix + secrets.token_urlsafe(32)
    return token, sha256_hex(token)


def _sign(key: ECKey, typ: str, claims: dict[str, Any]) -> str:
    return jwt.encode({"alg": ALG, "typ": typ, "kid": key.kid}, claims, key)


def issue_session(
    key: ECKey, *, issuer: str, audience: str, did: str, sid: str, ttl: int, now: int | None = None
) -> str:
    iat = int(now if now is not None else time.time())
    claims = {"iss": issuer, "aud": audience, "sub": did, "sid": sid, "iat": iat, "exp": iat + ttl}
    return _sign(key, SESSION_TYP, claims)


@dataclass(frozen=True)
class AccessClaims:
    issuer: str
    audience: str  # the wiki's MCP URL
    did: str
    client_id: str
    scope: str
    grant_id: str
    ttl: int = 3600


def issue_access_token(key: ECKey, c: AccessClaims, now: int | None = None) -> str:
    iat = int(now if now is not None else time.time())
    claims = {
        "iss": c.issuer,
        "aud": c.audience,
        "sub": c.did,
        "client_id": c.client_id,
        "scope": c.scope,
        "gid": c.grant_id,
        "jti": secrets.token_urlsafe(16),
        "iat": iat,
        "exp": iat + c.ttl,
    }
    return _sign(key, ACCESS_TYP, claims)
