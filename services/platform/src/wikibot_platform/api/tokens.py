"""``/api/wikis/{slug}/tokens``: personal access tokens (``wbp_…``) for CLIs, scripts and git."""

from __future__ import annotations

from fastapi import APIRouter, Response

from ..deps import DbDep, RedisDep, SettingsDep, UserDep
from ..schemas import TokenCreate, TokenCreated, TokenPublic, TokenUpdate
from ..services import tokens

router = APIRouter(prefix="/wikis/{slug}/tokens", tags=["tokens"])


@router.get("", response_model=list[TokenPublic])
def list_tokens(slug: str, db: DbDep, user: UserDep) -> list[TokenPublic]:
    """Live tokens with their last use: everyone's for owners, your own otherwise."""
    return tokens.list_tokens(db, slug, user)


@router.post("", response_model=TokenCreated, status_code=201)
def create_token(
    slug: str, body: TokenCreate, db: DbDep, settings: SettingsDep, client: RedisDep, user: UserDep
) -> TokenCreated:
    """Create a token for yourself; the secret is in this response only."""
    return tokens.create_token(db, settings, client, slug, user, body)


@router.patch("/{token_id}", response_model=TokenPublic)
def set_token_paths(slug: str, token_id: str, body: TokenUpdate, db: DbDep, user: UserDep) -> TokenPublic:
    """Limit where your token writes (owners: anyone's), or lift the limit with ``paths: null``."""
    return tokens.set_token_paths(db, slug, user, token_id, body)


@router.delete("/{token_id}", status_code=204)
def revoke_token(slug: str, token_id: str, db: DbDep, user: UserDep) -> Response:
    """Revoke your token (owners: anyone's on the wiki)."""
    tokens.revoke_token(db, slug, user, token_id)
    return Response(status_code=204)
