"""The one verification entry point: (Host, headers, cookies) → ``Principal``, or a precise ``AuthError``.

Every service calls ``Verifier.authenticate`` (who is this?) or ``Verifier.authorize`` (may they do this on
this wiki?). Three credentials are understood (ARCHITECTURE §3):

- platform session JWT — cookie ``wikibot_session`` or ``Authorization: Bearer``; ``typ`` session, ``aud`` the
  platform's session audience, its ``sid`` must be a live session row;
- OAuth access JWT (RFC 9068) — ``Authorization: Bearer``; ``aud`` must be *this* wiki's MCP URL, its grant
  (``gid``) must be unrevoked;
- personal access token — ``Authorization: Bearer wbp_…`` or as the password of HTTP Basic (git); looked up by
  SHA-256, unrevoked, unexpired, bound to this wiki.

Only ES256 signatures by a ``kid`` from the platform's JWKS are accepted; the algorithm is fixed here, never
taken from the token, which rules out ``alg: none`` and algorithm confusion. An unknown ``kid`` makes the key
provider refetch the JWKS once (rate-limited). Client-sent identity headers are never read.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from . import acl
from .config import CommonSettings
from .errors import AuthError, InsufficientScope
from .keys import ALG, KeyStore
from .models import AccessToken, OAuthGrant, User, UserSession
from .tenant import Tenant, tenant_from_host
from .tokens import ACCESS_TYP, PAT_PREFIX, SESSION_COOKIE, SESSION_TYP, sha256_hex

log = logging.getLogger("wikibot.verify")

Method = Literal["session", "oauth", "pat", "anonymous"]
LEEWAY = 30  # seconds of clock skew tolerated on exp/iat
LAST_USED_RESOLUTION = timedelta(minutes=1)  # write last_used_at at most this often
# The session one authorization decision runs its lookups in (set for the duration of ``authorize`` only).
_DECISION_SESSION: ContextVar[Session | None] = ContextVar("wikibot_verify_session", default=None)


@dataclass(frozen=True)
class Principal:
    did: str | None
    method: Method
    wiki: str | None = None  # the wiki a token is bound to (oauth, pat)
    scopes: frozenset[str] | None = None  # None: unscoped (a session)
    client_id: str | None = None
    credential_id: str | None = None  # session id, grant id or token id
    handle: str | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.did is None


ANONYMOUS = Principal(did=None, method="anonymous", scopes=None)


@dataclass(frozen=True)
class Access:
    tenant: Tenant
    principal: Principal
    wiki: acl.WikiAccess


# -- keys -----------------------------------------------------------------------------------------------


class KeyProvider(Protocol):
    def get(self, kid: str) -> ECKey | None: ...

    def refresh(self) -> bool:
        """Reload the keys; False if a reload happened too recently to try again."""
        ...


def _import_public(jwks: Mapping[str, Any]) -> dict[str, ECKey]:
    keys: dict[str, ECKey] = {}
    for jwk in jwks.get("keys", []):
        if not isinstance(jwk, dict) or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256" or "d" in jwk:
            continue
        kid = jwk.get("kid")
        if isinstance(kid, str) and kid:
            keys[kid] = ECKey.import_key(jwk)
    return keys


class _CachingKeys:
    def __init__(self, min_interval: float) -> None:
        self._keys: dict[str, ECKey] = {}
        self._loaded_at = float("-inf")
        self._min_interval = min_interval
        self._lock = threading.Lock()

    def _load(self) -> dict[str, ECKey]:
        raise NotImplementedError

    def get(self, kid: str) -> ECKey | None:
        if not self._keys:
            self.refresh()
        return self._keys.get(kid)

    def refresh(self) -> bool:
        with self._lock:
            if time.monotonic() - self._loaded_at < self._min_interval:
                return False
            self._loaded_at = time.monotonic()
            try:
                self._keys = self._load()
            except (httpx.HTTPError, ValueError, OSError) as exc:
                log.warning("could not load the JWKS", extra={"error": str(exc)})
            return True


class LocalKeys(_CachingKeys):
    """The platform's own keys, read from the data volume."""

    def __init__(self, store: KeyStore, min_interval: float = 1.0) -> None:
        super().__init__(min_interval)
        self.store = store

    def _load(self) -> dict[str, ECKey]:
        return _import_public(self.store.jwks())


class RemoteJWKS(_CachingKeys):
    """The platform's JWKS over the internal network, cached; refetched at most every ``min_interval``."""

    def __init__(self, url: str, client: httpx.Client | None = None, min_interval: float = 5.0) -> None:
        super().__init__(min_interval)
        self.url = url
        self.client = client or httpx.Client(timeout=5.0, follow_redirects=False)

    def _load(self) -> dict[str, ECKey]:
        response = self.client.get(self.url)
        response.raise_for_status()
        return _import_public(response.json())


# -- challenges (RFC 6750 §3, RFC 9728 §5.1) ------------------------------------------------------------


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def bearer_challenge(
    settings: CommonSettings,
    slug: str | None,
    *,
    error: str | None = None,
    description: str | None = None,
    scope: str | None = None,
) -> str:
    parts: list[str] = []
    if slug is not None:
        metadata = f"{settings.wiki_url(slug)}/.well-known/oauth-protected-resource/mcp"
        parts.append(f'resource_metadata="{metadata}"')
    if scope:
        parts.append(f'scope="{_quote(scope)}"')
    if error:  # RFC 6750 §3.1: no error code when the request carried no credentials
        parts.append(f'error="{error}"')
        if description:
            parts.append(f'error_description="{_quote(description)}"')
    return "Bearer " + ", ".join(parts) if parts else "Bearer"


# Built once (constructing and cache-keying a statement per request cost more than running it); columns, not
# entities, so a lookup loads no ORM instances.
_TOKENS, _USERS = AccessToken.__table__, User.__table__
_PAT_LOOKUP = (
    select(
        _TOKENS.c.id,
        _TOKENS.c.owner_did,
        _TOKENS.c.wiki_slug,
        _TOKENS.c.scopes,
        _TOKENS.c.revoked_at,
        _TOKENS.c.expires_at,
        _TOKENS.c.last_used_at,
        _USERS.c.handle,
    )
    .select_from(_TOKENS.join(_USERS, _USERS.c.did == _TOKENS.c.owner_did))
    .where(_TOKENS.c.token_hash == bindparam("token_hash"))
)


# -- the verifier ---------------------------------------------------------------------------------------


@dataclass
class Verifier:
    settings: CommonSettings
    db: sessionmaker[Session]
    keys: KeyProvider
    clock: Callable[[], float] = time.time
    _default_scope: str = field(default=" ".join(acl.WIKI_SCOPES))

    # public API ------------------------------------------------------------------------------------------
    def authenticate(
        self, host: str | None, headers: Mapping[str, str], cookies: Mapping[str, str]
    ) -> tuple[Tenant, Principal]:
        tenant = tenant_from_host(host, self.settings.domain)
        return tenant, self._principal(tenant, headers, cookies)

    def authorize(
        self, host: str | None, headers: Mapping[str, str], cookies: Mapping[str, str], action: acl.Action
    ) -> Access:
        with self.decision() as db:  # one session for the credential and the ACL lookups
            tenant, principal = self.authenticate(host, headers, cookies)
            if tenant.slug is None:
                raise AuthError("this is not a wiki host", code="invalid_request")
            access = acl.wiki_access(db, tenant.slug, principal.did)
        if principal.is_anonymous and not access.can(action):
            scope = acl.required_scope(action) or self._default_scope
            raise AuthError(
                "authentication required: sign in, or send an OAuth access token or a personal access token",
                code="unauthenticated",
                challenge=bearer_challenge(self.settings, tenant.slug, scope=scope),
            )
        try:
            acl.check(access, action, principal.scopes)
        except InsufficientScope as exc:
            exc.challenge = bearer_challenge(
                self.settings,
                tenant.slug,
                error="insufficient_scope",
                description=exc.message,
                scope=exc.scope,
            )
            raise
        return Access(tenant, principal, access)

    @contextmanager
    def decision(self) -> Iterator[Session]:
        """One database session for every lookup of an access decision (the credential's and the caller's own,
        such as the ACL): ``authenticate`` inside it reuses it. Nested uses share the outermost."""
        current = _DECISION_SESSION.get()
        if current is not None:
            yield current
            return
        with self.db() as db:
            token = _DECISION_SESSION.set(db)
            try:
                yield db
            finally:
                _DECISION_SESSION.reset(token)

    # credentials -----------------------------------------------------------------------------------------
    def _principal(self, tenant: Tenant, headers: Mapping[str, str], cookies: Mapping[str, str]) -> Principal:
        authorization = _header(headers, "authorization")
        if authorization:
            scheme, _, credentials = authorization.strip().partition(" ")
            credentials = credentials.strip()
            scheme = scheme.lower()
            if scheme == "bearer" and credentials:
                if credentials.startswith(PAT_PREFIX):
                    return self._pat(tenant, credentials)
                return self._jwt(tenant, credentials, from_cookie=False)
            if scheme == "basic" and credentials:
                return self._basic(tenant, credentials)
            raise self._fail(tenant, "unsupported or empty Authorization header", code="invalid_request")
        cookie = cookies.get(SESSION_COOKIE)
        if cookie:
            return self._jwt(tenant, cookie, from_cookie=True)
        return ANONYMOUS

    def _fail(self, tenant: Tenant, description: str, code: str = "invalid_token") -> AuthError:
        challenge = bearer_challenge(self.settings, tenant.slug, error=code, description=description)
        return AuthError(description, code=code, challenge=challenge)

    def _basic(self, tenant: Tenant, credentials: str) -> Principal:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise self._fail(tenant, "malformed Basic credentials", code="invalid_request") from None
        _user, sep, password = decoded.partition(":")
        if not sep or not password.startswith(PAT_PREFIX):
            raise self._fail(tenant, "use a personal access token as the password")
        return self._pat(tenant, password)

    def _pat(self, tenant: Tenant, token: str) -> Principal:
        if tenant.slug is None:
            raise self._fail(tenant, "personal access tokens are accepted on wiki hosts only")
        now = datetime.fromtimestamp(self.clock(), UTC)
        with self.decision() as db:
            row = db.execute(_PAT_LOOKUP, {"token_hash": sha256_hex(token)}).first()
            if row is None:
                raise self._fail(tenant, "unknown personal access token")
            pat_id, owner_did, wiki_slug, scopes, revoked_at, expires_at, last_used_at, handle = row
            if revoked_at is not None:
                raise self._fail(tenant, "this personal access token has been revoked")
            if expires_at is not None and expires_at <= now:
                raise self._fail(tenant, "this personal access token has expired")
            if wiki_slug != tenant.slug:
                raise self._fail(tenant, "this personal access token belongs to another wiki")
            if last_used_at is None or now - last_used_at > LAST_USED_RESOLUTION:
                db.execute(update(AccessToken).where(AccessToken.id == pat_id).values(last_used_at=now))
                db.commit()
            return Principal(
                did=owner_did,
                method="pat",
                wiki=wiki_slug,
                scopes=frozenset(scopes.split()),
                credential_id=pat_id,
                handle=handle,
            )

    def _jwt(self, tenant: Tenant, token: str, *, from_cookie: bool) -> Principal:
        header = _jws_header(token)
        if header is None:
            raise self._fail(tenant, "malformed token")
        if header.get("alg") != ALG:
            raise self._fail(tenant, f"token algorithm must be {ALG}")
        typ, kid = header.get("typ"), header.get("kid")
        if typ not in (SESSION_TYP, ACCESS_TYP):
            raise self._fail(tenant, "not a token this server issues")
        if from_cookie and typ != SESSION_TYP:
            raise self._fail(tenant, "the session cookie does not hold a session")
        if not isinstance(kid, str) or not kid:
            raise self._fail(tenant, "token has no key id")
        key = self.keys.get(kid)
        if key is None and self.keys.refresh():
            key = self.keys.get(kid)
        if key is None:
            raise self._fail(tenant, "token signed by an unknown key")
        try:
            claims = jwt.decode(token, key, algorithms=[ALG]).claims
        except (JoseError, ValueError):
            raise self._fail(tenant, "token signature does not verify") from None
        self._check_times(tenant, claims)
        if claims.get("iss") != self.settings.issuer:
            raise self._fail(tenant, "token issued by someone else")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub.startswith("did:"):
            raise self._fail(tenant, "token has no subject")
        if typ == SESSION_TYP:
            return self._session(tenant, claims, sub)
        return self._access(tenant, claims, sub)

    def _check_times(self, tenant: Tenant, claims: Mapping[str, Any]) -> None:
        now = self.clock()
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, int | float) or not isinstance(iat, int | float):
            raise self._fail(tenant, "token lacks exp or iat")
        if exp + LEEWAY < now:
            raise self._fail(tenant, "token has expired")
        if iat - LEEWAY > now:
            raise self._fail(tenant, "token issued in the future")

    def _session(self, tenant: Tenant, claims: Mapping[str, Any], did: str) -> Principal:
        if not _audience_is(claims, self.settings.session_audience):
            raise self._fail(tenant, "token is not a platform session")
        sid = claims.get("sid")
        with self.decision() as db:
            row = db.execute(
                select(UserSession.revoked_at, User.handle)
                .join(User, User.did == UserSession.did)
                .where(UserSession.id == str(sid), UserSession.did == did)
            ).first()
        if row is None or row[0] is not None:
            raise self._fail(tenant, "this session has ended; sign in again")
        return Principal(did=did, method="session", scopes=None, credential_id=str(sid), handle=row[1])

    def _access(self, tenant: Tenant, claims: Mapping[str, Any], did: str) -> Principal:
        if tenant.slug is None:
            raise self._fail(tenant, "access tokens are accepted on wiki hosts only")
        if not _audience_is(claims, self.settings.mcp_resource(tenant.slug)):
            raise self._fail(tenant, "token was issued for another resource")
        gid = claims.get("gid")
        now = datetime.fromtimestamp(self.clock(), UTC)
        with self.decision() as db:
            grant = db.get(OAuthGrant, str(gid))
            if grant is None or grant.revoked_at is not None:
                raise self._fail(tenant, "this authorization has been revoked")
            if grant.wiki_slug != tenant.slug or grant.user_did != did:
                raise self._fail(tenant, "token does not match its authorization")
            if grant.last_used_at is None or now - grant.last_used_at > LAST_USED_RESOLUTION:
                grant.last_used_at = now
                db.commit()
            handle = db.execute(select(User.handle).where(User.did == did)).scalar()
        scope = claims.get("scope")
        return Principal(
            did=did,
            method="oauth",
            wiki=tenant.slug,
            scopes=frozenset(str(scope or "").split()),
            client_id=str(claims.get("client_id") or ""),
            credential_id=str(gid),
            handle=handle,
        )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        for key, val in headers.items():
            if key.lower() == name:
                return val
    return value


def _jws_header(token: str) -> dict[str, Any] | None:
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        return None
    try:
        raw = base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4))
        header = json.loads(raw)
    except (binascii.Error, ValueError):
        return None
    return header if isinstance(header, dict) else None


def _audience_is(claims: Mapping[str, Any], expected: str) -> bool:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return aud.rstrip("/") == expected
    if isinstance(aud, list):
        return any(isinstance(a, str) and a.rstrip("/") == expected for a in aud)
    return False
