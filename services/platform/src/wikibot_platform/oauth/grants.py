"""RFC 6749 grants: authorization code (§4.1) with PKCE and a resource, and refresh token (§6) with rotation.

authlib's grant classes run the protocol; the hooks below bind it to Wikibot's storage:
codes in Redis (single use), grants and refresh tokens in the database (``request.db``, one transaction per
token request, committed even when the answer is an error so that a detected replay stays revoked).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError
from sqlalchemy import update

from wikibot_shared import acl
from wikibot_shared.db import transaction
from wikibot_shared.errors import NotFound
from wikibot_shared.models import OAuthGrant, OAuthRefreshToken, Wiki
from wikibot_shared.tokens import REFRESH_PREFIX, sha256_hex

from .families import create_grant, note_refusal, revoke_family
from .models import AUTH_METHODS, Authorization, AuthorizationCode, Client, RefreshToken
from .rfc8707 import check_same_wiki


def _now() -> datetime:
    return datetime.now(UTC)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)

    def generate_authorization_code(self) -> str:
        code, _hash = self.server.codes.new()
        return str(code)

    def save_authorization_code(self, code: str, request: Any) -> None:
        """The person consented: the grant exists from now (the connected-apps page shows a connection whose
        code was never exchanged as such), and the code names it."""
        data = request.payload.data
        with transaction(self.server.db) as db:
            grant = create_grant(
                db,
                client_id=request.client.client_id,
                did=request.user.did,
                wiki=request.wiki,
                scope=request.granted_scope,
                write_paths=request.write_paths,
            )
        self.server.codes.save(
            AuthorizationCode(
                code_hash=sha256_hex(code),
                client_id=request.client.client_id,
                redirect_uri=request.payload.redirect_uri,
                scope=request.granted_scope,
                wiki=request.wiki,
                did=request.user.did,
                code_challenge=data["code_challenge"],
                code_challenge_method=data["code_challenge_method"],
                session_id=request.user.credential_id,
                grant_id=grant.id,
            )
        )

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        item: AuthorizationCode | None = self.server.codes.redeem(code)  # GETDEL: one use only
        if item is None:
            replayed = self.server.codes.grant_of_redeemed(code)
            if replayed:
                # RFC 6749 §4.1.2 / §10.5: a code used twice revokes what it was exchanged for.
                revoke_family(self.request.db, replayed)
            return None
        if item.client_id != client.client_id:
            return None  # RFC 6749 §4.1.3: the code was issued to another client
        return item

    def authenticate_user(self, authorization_code: AuthorizationCode) -> Authorization | None:
        db = self.request.db
        if db.get(Wiki, authorization_code.wiki) is None:
            return None
        grant = db.get(OAuthGrant, authorization_code.grant_id or "")
        if grant is None or grant.revoked_at is not None:
            return None  # disconnected between consent and exchange (or a code from before grants came first)
        if grant.token_issued_at is None:
            grant.token_issued_at = _now()
        return Authorization(authorization_code.did, authorization_code.wiki, grant.id, grant.client_id)

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        # Already deleted by GETDEL; remember which grant it produced, for replay detection.
        self.server.codes.mark_redeemed(authorization_code.code_hash, self.request.user.grant_id)


def check_code_resource(grant: AuthorizationCodeGrant, _result: Any) -> None:
    """Registered as an ``after_validate_token_request`` hook: RFC 8707 §2.2 at the token endpoint."""
    resources = grant.request.payload.datalist.get("resource", [])
    check_same_wiki(grant.server.settings, resources, grant.request.authorization_code.wiki)


class RefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)
    INCLUDE_NEW_REFRESH_TOKEN = True  # OAuth 2.1 §4.3.1: rotate refresh tokens of public clients

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshToken | None:
        if not refresh_token.startswith(REFRESH_PREFIX):
            return None
        db = self.request.db
        row = db.get(OAuthRefreshToken, sha256_hex(refresh_token))
        if row is None:
            return None
        grant = db.get(OAuthGrant, row.grant_id)
        if grant is None:
            return None
        if row.rotated_at is not None or row.revoked_at is not None:
            # OAuth 2.1 §4.3.1, RFC 9700 §4.14.2: a rotated refresh token came back, so one of two parties
            # holding it is an attacker: revoke the whole family (the grant and all its tokens).
            if grant.revoked_at is None:
                note_refusal(db, grant.id, "a used refresh token came back: the connection was ended")
            revoke_family(db, grant.id)
            return None
        if grant.revoked_at is not None or row.expires_at <= _now():
            return None
        return RefreshToken(row.token_hash, grant.id, grant.client_id, row.scopes, row.expires_at)

    def validate_token_request(self) -> None:
        super().validate_token_request()
        token: RefreshToken = self.request.refresh_token
        grant = self.request.db.get(OAuthGrant, token.grant_id)
        check_same_wiki(
            self.server.settings, self.request.payload.datalist.get("resource", []), grant.wiki_slug
        )
        # Claim the token atomically: of two concurrent uses, exactly one wins; the other is a reuse.
        claimed = self.request.db.execute(
            update(OAuthRefreshToken)
            .where(
                OAuthRefreshToken.token_hash == token.token_hash,
                OAuthRefreshToken.rotated_at.is_(None),
                OAuthRefreshToken.revoked_at.is_(None),
            )
            .values(rotated_at=_now())
        )
        if getattr(claimed, "rowcount", 0) != 1:
            note_refusal(
                self.request.db, token.grant_id, "a used refresh token came back: the connection was ended"
            )
            revoke_family(self.request.db, token.grant_id)
            raise InvalidGrantError("this refresh token was already used; the authorization is revoked")

    def authenticate_user(self, refresh_token: RefreshToken) -> Authorization | None:
        db = self.request.db
        grant = db.get(OAuthGrant, refresh_token.grant_id)
        try:
            access = acl.wiki_access(db, grant.wiki_slug, grant.user_did)
        except NotFound:
            access = None
        if access is None or not access.can(acl.Action.READ):
            # The user lost access to the wiki since: the authorization is over (the role is always live).
            note_refusal(db, grant.id, "refresh refused: the person no longer has access to this wiki")
            revoke_family(db, grant.id)
            raise InvalidGrantError("the user no longer has access to this wiki")
        grant.last_refreshed_at = _now()
        return Authorization(grant.user_did, grant.wiki_slug, grant.id, grant.client_id)

    def revoke_old_credential(self, refresh_token: RefreshToken) -> None:
        """Done in ``validate_token_request`` (the atomic claim marks it rotated)."""


def save_refresh_token(db: Any, token: dict[str, Any], user: Authorization, ttl: int) -> None:
    value = token.get("refresh_token")
    if not value:
        return
    now = _now()
    db.add(
        OAuthRefreshToken(
            token_hash=sha256_hex(value),
            grant_id=user.grant_id,
            scopes=token.get("scope", ""),
            created_at=now,
            expires_at=datetime.fromtimestamp(now.timestamp() + ttl, UTC),
        )
    )
