"""RFC 7009 token revocation.

Revoking either token of a grant ends the grant and every token of it (§2.1: revoking a refresh token SHOULD
also invalidate the access tokens of the same grant; access tokens are JWTs, so the grant is what the verifier
checks). Unknown or already invalid tokens get 200 as well (§2.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError
from authlib.oauth2.rfc7009 import RevocationEndpoint as _RevocationEndpoint
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from sqlalchemy.orm import Session

from wikibot_shared.keys import ALG
from wikibot_shared.models import OAuthGrant, OAuthRefreshToken
from wikibot_shared.tokens import ACCESS_TYP, REFRESH_PREFIX, sha256_hex

from .families import revoke_family
from .models import AUTH_METHODS, Client


@dataclass(frozen=True)
class RevocableToken:
    grant_id: str
    client_id: str

    def check_client(self, client: Client) -> bool:
        return self.client_id == client.client_id


class RevocationEndpoint(_RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = list(AUTH_METHODS)

    def check_params(self, request: Any, client: Client) -> None:
        if not request.form.get("token"):
            raise InvalidRequestError("token is required")  # RFC 7009 §2.1
        # RFC 7009 §2.1: an unknown token_type_hint is ignored, never an error.

    def authenticate_token(self, request: Any, client: Client) -> RevocableToken | None:
        self.check_params(request, client)
        token = self.find(request.db, request.form["token"])
        if token is not None and not token.check_client(client):
            # RFC 7009 §2.1: a client may only revoke its own tokens.
            raise InvalidGrantError("this token was issued to another client")
        return token

    def find(self, db: Session, token_string: str) -> RevocableToken | None:
        grant_id: str | None = None
        if token_string.startswith(REFRESH_PREFIX):
            row = db.get(OAuthRefreshToken, sha256_hex(token_string))
            grant_id = row.grant_id if row is not None else None
        else:
            grant_id = self._access_grant(token_string)
        grant = db.get(OAuthGrant, grant_id) if grant_id else None
        return RevocableToken(grant.id, grant.client_id) if grant is not None else None

    def _access_grant(self, token: str) -> str | None:
        """The grant of an access token this server signed (expired ones included)."""
        try:
            header = jws.extract_compact(token.encode()).headers()
        except (JoseError, ValueError):
            return None
        if header.get("alg") != ALG or header.get("typ") != ACCESS_TYP:
            return None
        keys = {k.kid: k.key for k in self.server.keystore.public_keys()}
        key: ECKey | None = keys.get(header.get("kid"))
        if key is None:
            return None
        try:
            claims = jwt.decode(token, key, algorithms=[ALG]).claims
        except (JoseError, ValueError):
            return None
        if claims.get("iss") != self.server.settings.issuer:
            return None
        gid = claims.get("gid")
        return gid if isinstance(gid, str) else None

    def revoke_token(self, token: RevocableToken, request: Any) -> None:
        revoke_family(request.db, token.grant_id)
