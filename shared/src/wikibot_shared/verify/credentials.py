"""What a credential is made of and how it is looked up: the JWS header, the audience, and the prebuilt joins
each kind of credential is checked with on every request."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, select

from ..models import AccessToken, OAuthGrant, User, UserSession

# Built once (constructing and cache-keying a statement per request cost more than running it); columns, not
# entities, so a lookup loads no ORM instances.
_TOKENS, _USERS = AccessToken.__table__, User.__table__
_GRANTS, _SESSIONS = OAuthGrant.__table__, UserSession.__table__
PAT_LOOKUP = (
    select(
        _TOKENS.c.id,
        _TOKENS.c.owner_did,
        _TOKENS.c.wiki_slug,
        _TOKENS.c.scopes,
        _TOKENS.c.revoked_at,
        _TOKENS.c.expires_at,
        _TOKENS.c.last_used_at,
        _USERS.c.handle,
        _TOKENS.c.write_paths,
        _TOKENS.c.review,
    )
    .select_from(_TOKENS.join(_USERS, _USERS.c.did == _TOKENS.c.owner_did))
    .where(_TOKENS.c.token_hash == bindparam("token_hash"))
)

# An OAuth access token's grant, with its user's handle: one join, as for personal access tokens (every request
# of an OAuth client runs it).
GRANT_LOOKUP = (
    select(
        _GRANTS.c.revoked_at,
        _GRANTS.c.wiki_slug,
        _GRANTS.c.user_did,
        _GRANTS.c.last_used_at,
        _USERS.c.handle,
        _GRANTS.c.write_paths,
        _GRANTS.c.review,
    )
    .select_from(_GRANTS.join(_USERS, _USERS.c.did == _GRANTS.c.user_did, isouter=True))
    .where(_GRANTS.c.id == bindparam("gid"))
)
SESSION_LOOKUP = (
    select(_SESSIONS.c.revoked_at, _USERS.c.handle)
    .select_from(_SESSIONS.join(_USERS, _USERS.c.did == _SESSIONS.c.did))
    .where(_SESSIONS.c.id == bindparam("sid"), _SESSIONS.c.did == bindparam("did"))
)


def header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        for key, val in headers.items():
            if key.lower() == name:
                return val
    return value


def jws_header(token: str) -> dict[str, Any] | None:
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        return None
    try:
        raw = base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4))
        header = json.loads(raw)
    except (binascii.Error, ValueError):
        return None
    return header if isinstance(header, dict) else None


def audience_is(claims: Mapping[str, Any], expected: str) -> bool:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return aud.rstrip("/") == expected
    if isinstance(aud, list):
        return any(isinstance(a, str) and a.rstrip("/") == expected for a in aud)
    return False
