"""The verifier: a request's credential → ``Principal``; with the wiki's ACL → ``Access``, or a precise ``AuthError``."""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy import or_, update
from sqlalchemy.orm import Session, sessionmaker

from .. import acl
from ..config import CommonSettings
from ..errors import AuthError, Forbidden, InsufficientScope, Unavailable
from ..keys import ALG
from ..models import AccessToken, OAuthGrant
from ..pathrules import WriteArea, loaded
from ..tenant import Tenant, tenant_from_host
from ..tokens import ACCESS_TYP, PAT_PREFIX, SESSION_COOKIE, SESSION_TYP, sha256_hex
from .challenge import bearer_challenge
from .credentials import GRANT_LOOKUP, PAT_LOOKUP, SESSION_LOOKUP, audience_is, header, jws_header
from .jwks import KeyProvider

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
    write_paths: tuple[str, ...] | None = None  # the token's or grant's folders (pathrules); None: all
    review: str | None = None  # the token's or grant's "propose" | "direct"; None: as the wiki says
    expires_at: float | None = None  # unix seconds the credential stops verifying (token expiry); None: never

    @property
    def is_anonymous(self) -> bool:
        return self.did is None


ANONYMOUS = Principal(did=None, method="anonymous", scopes=None)


@dataclass(frozen=True)
class Access:
    """One request's authorization, decided once and handed on: who, on which wiki, for what action.

    ``refusal`` is set only when ``authorize`` was asked to let the caller word a refusal (``word_refusals``):
    the role cannot write, or the wiki is lapsed; ``action`` is then what was allowed (reading), and whoever
    tries to write raises the refusal (``require``)."""

    tenant: Tenant
    principal: Principal
    wiki: acl.WikiAccess
    action: acl.Action
    refusal: Forbidden | None = None

    def require(self, action: acl.Action) -> None:
        """Return if ``action`` is what was decided (writing covers reading); else raise the decided refusal, or
        refuse an action this access was never decided for (a caller's bug)."""
        if action is self.action or (self.action is acl.Action.WRITE and action is acl.Action.READ):
            return
        raise self.refusal or Forbidden(
            f"this request was authorized to {self.action.value}, not to {action.value}"
        )

    @property
    def write_area(self) -> WriteArea:
        """Where this request may write (its member's and its credential's path rules together)."""
        return acl.write_area(self.wiki, self.principal.write_paths, self.principal.method)

    @property
    def proposes(self) -> bool:
        """Its writes become a proposal a person reviews (``wikibot_shared.proposals``) instead of landing."""
        return acl.proposes(self.wiki, self.principal.method, self.principal.review)


# -- the verifier ---------------------------------------------------------------------------------------


@dataclass
class Verifier:
    settings: CommonSettings
    db: sessionmaker[Session]
    keys: KeyProvider
    clock: Callable[[], float] = time.time
    # The 401's challenge asks for what an agent connecting to a wiki needs, reading and writing (the consent
    # page narrows it to the person's role): a client that asked for less would need a second consent later.
    connect_scope: str = field(default=" ".join(acl.WIKI_SCOPES))

    # public API ------------------------------------------------------------------------------------------
    def authenticate(
        self, host: str | None, headers: Mapping[str, str], cookies: Mapping[str, str]
    ) -> tuple[Tenant, Principal]:
        tenant = tenant_from_host(host, self.settings.domain)
        return tenant, self._principal(tenant, headers, cookies)

    def authorize(
        self,
        host: str | None,
        headers: Mapping[str, str],
        cookies: Mapping[str, str],
        action: acl.Action,
        *,
        word_refusals: bool = False,
    ) -> Access:
        """The one decision for a request. Authentication failures and a missing scope (RFC 6750 §3.1, with the
        challenge a client steps up with) always raise; with ``word_refusals`` a role that cannot do ``action``
        or a lapsed wiki rides on the ``Access`` instead, for a caller that answers in words (MCP tools)."""
        with self.decision() as db:  # one session for the credential and the ACL lookups
            tenant, principal = self.authenticate(host, headers, cookies)
            if tenant.slug is None:
                raise AuthError("this is not a wiki host", code="invalid_request")
            access = acl.wiki_access(db, tenant.slug, principal.did)
        if principal.is_anonymous and not access.can(action):
            scope = self.connect_scope
            raise AuthError(
                "authentication required: sign in, or send an OAuth access token or a personal access token",
                code="unauthenticated",
                challenge=bearer_challenge(self.settings, tenant.slug, scope=scope),
            )
        try:
            acl.check(access, action, principal.scopes)
        except Forbidden as exc:
            if principal.method == "oauth":
                self.note_refusal(principal.credential_id, f"{exc.code}: {exc.message}")
            if isinstance(exc, InsufficientScope):
                exc.challenge = bearer_challenge(
                    self.settings,
                    tenant.slug,
                    error="insufficient_scope",
                    description=exc.message,
                    scope=exc.scope,
                )
                raise
            if not word_refusals or action is acl.Action.READ:
                raise
            acl.check(access, acl.Action.READ, principal.scopes)  # no access at all: nothing to word
            return Access(tenant, principal, access, acl.Action.READ, refusal=exc)
        return Access(tenant, principal, access, action)

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
        authorization = header(headers, "authorization")
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
            row = db.execute(PAT_LOOKUP, {"token_hash": sha256_hex(token)}).first()
            if row is None:
                raise self._fail(tenant, "unknown personal access token")
            (
                pat_id,
                owner_did,
                wiki_slug,
                scopes,
                revoked_at,
                expires_at,
                last_used_at,
                handle,
                paths,
                review,
            ) = row
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
                write_paths=loaded(paths),
                review=review,
                expires_at=expires_at.timestamp() if expires_at is not None else None,
            )

    def _jwt(self, tenant: Tenant, token: str, *, from_cookie: bool) -> Principal:
        jws = jws_header(token)
        if jws is None:
            raise self._fail(tenant, "malformed token")
        if jws.get("alg") != ALG:
            raise self._fail(tenant, f"token algorithm must be {ALG}")
        typ, kid = jws.get("typ"), jws.get("kid")
        if typ not in (SESSION_TYP, ACCESS_TYP):
            raise self._fail(tenant, "not a token this server issues")
        if from_cookie and typ != SESSION_TYP:
            raise self._fail(tenant, "the session cookie does not hold a session")
        if not isinstance(kid, str) or not kid:
            raise self._fail(tenant, "token has no key id")
        key = self.keys.get(kid)
        if key is None and self.keys.refresh():
            key = self.keys.get(kid)
        if key is None and self.keys.failing:
            raise Unavailable(
                "the keys that verify sign-ins could not be read right now; nothing was changed — "
                "try again in a few seconds"
            )
        if key is None:
            raise self._fail(tenant, "token signed by an unknown key")
        try:
            claims = jwt.decode(token, key, algorithms=[ALG]).claims
        except (JoseError, ValueError):
            raise self._fail(tenant, "token signature does not verify") from None
        try:
            self._check_times(tenant, claims)
            if claims.get("iss") != self.settings.issuer:
                raise self._fail(tenant, "token issued by someone else")
            sub = claims.get("sub")
            if not isinstance(sub, str) or not sub.startswith("did:"):
                raise self._fail(tenant, "token has no subject")
            if typ == SESSION_TYP:
                return self._session(tenant, claims, sub)
            return self._access(tenant, claims, sub)
        except AuthError as exc:
            if typ == ACCESS_TYP:  # signed by us: its grant is the one to tell about it
                self.note_refusal(claims.get("gid"), exc.message)
            raise

    def note_refusal(self, grant_id: Any, reason: str) -> None:
        """Record why an OAuth client was refused, on its grant (what the connected-apps page shows), at most
        once a minute for the same reason."""
        if not isinstance(grant_id, str) or not grant_id:
            return
        now = datetime.fromtimestamp(self.clock(), UTC)
        quiet = or_(
            OAuthGrant.last_refusal_at.is_(None),
            OAuthGrant.last_refusal_at < now - LAST_USED_RESOLUTION,
            OAuthGrant.last_refusal != reason[:300],
        )
        with self.decision() as db:
            db.execute(
                update(OAuthGrant)
                .where(OAuthGrant.id == grant_id, quiet)
                .values(last_refusal_at=now, last_refusal=reason[:300])
            )
            db.commit()

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
        if not audience_is(claims, self.settings.session_audience):
            raise self._fail(tenant, "token is not a platform session")
        sid = claims.get("sid")
        with self.decision() as db:
            row = db.execute(SESSION_LOOKUP, {"sid": str(sid), "did": did}).first()
        if row is None or row[0] is not None:
            raise self._fail(tenant, "this session has ended; sign in again")
        return Principal(
            did=did,
            method="session",
            scopes=None,
            credential_id=str(sid),
            handle=row[1],
            expires_at=float(claims["exp"]) + LEEWAY,
        )

    def _access(self, tenant: Tenant, claims: Mapping[str, Any], did: str) -> Principal:
        if tenant.slug is None:
            raise self._fail(tenant, "access tokens are accepted on wiki hosts only")
        if not audience_is(claims, self.settings.mcp_resource(tenant.slug)):
            raise self._fail(tenant, "token was issued for another resource")
        gid = claims.get("gid")
        now = datetime.fromtimestamp(self.clock(), UTC)
        with self.decision() as db:
            row = db.execute(GRANT_LOOKUP, {"gid": str(gid)}).first()
            if row is None or row[0] is not None:
                raise self._fail(tenant, "this authorization has been revoked")
            _revoked, wiki_slug, user_did, last_used_at, handle, paths, review = row
            if wiki_slug != tenant.slug or user_did != did:
                raise self._fail(tenant, "token does not match its authorization")
            if last_used_at is None or now - last_used_at > LAST_USED_RESOLUTION:
                first = {"first_used_at": now} if last_used_at is None else {}
                db.execute(
                    update(OAuthGrant).where(OAuthGrant.id == str(gid)).values(last_used_at=now, **first)
                )
                db.commit()
        scope = claims.get("scope")
        return Principal(
            did=did,
            method="oauth",
            wiki=tenant.slug,
            scopes=frozenset(str(scope or "").split()),
            client_id=str(claims.get("client_id") or ""),
            credential_id=str(gid),
            handle=handle,
            write_paths=loaded(paths),
            review=review,
            expires_at=float(claims["exp"]) + LEEWAY,
        )
