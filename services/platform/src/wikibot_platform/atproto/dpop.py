"""DPoP proofs (RFC 9449), client assertions (RFC 7523, private_key_jwt) and PKCE (RFC 7636)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from joserfc import jwt
from joserfc.jwk import ECKey

ALG = "ES256"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"  # RFC 7523 §2.2


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_key() -> ECKey:
    """A fresh P-256 key: one per sign-in session (atproto.com/specs/oauth#dpop)."""
    return ECKey.generate_key("P-256", private=True)


def key_to_json(key: ECKey) -> str:
    return json.dumps(key.as_dict(private=True))


def key_from_json(text: str | bytes) -> ECKey:
    return ECKey.import_key(json.loads(text))


def htu(url: str) -> str:
    """The URL without query and fragment (RFC 9449 §4.2)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def proof(
    key: ECKey, method: str, url: str, *, nonce: str | None = None, access_token: str | None = None
) -> str:
    """A DPoP proof JWT (RFC 9449 §4.2); ``ath`` binds it to an access token for resource requests (§7.1)."""
    public = {k: v for k, v in key.as_dict(private=False).items() if k in ("kty", "crv", "x", "y")}
    header = {"typ": "dpop+jwt", "alg": ALG, "jwk": public}
    claims: dict[str, object] = {
        "jti": secrets.token_urlsafe(16),
        "htm": method,
        "htu": htu(url),
        "iat": int(time.time()),
    }
    if nonce:
        claims["nonce"] = nonce
    if access_token:
        claims["ath"] = b64url(hashlib.sha256(access_token.encode()).digest())
    return jwt.encode(header, claims, key)


def client_assertion(key: ECKey, client_id: str, issuer: str) -> str:
    """private_key_jwt (RFC 7523 §3): ``aud`` is the issuer, as the atproto profile requires."""
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": issuer,
        "jti": secrets.token_urlsafe(16),
        "iat": now,
        "exp": now + 60,
    }
    return jwt.encode({"alg": ALG, "kid": key.kid}, claims, key)


@dataclass(frozen=True)
class Pkce:
    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        return cls.from_verifier(secrets.token_urlsafe(48))  # 64 characters, within RFC 7636 §4.1's 43–128

    @classmethod
    def from_verifier(cls, verifier: str) -> Pkce:
        return cls(verifier, b64url(hashlib.sha256(verifier.encode("ascii")).digest()))  # RFC 7636 §4.2 S256
