"""``/api/wikis/{slug}/tokens``: personal access tokens (``wbp_…``) for CLIs, scripts and git."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request, Response

from .. import limits
from ..deps import DbDep, UserDep
from ..manage import tokens
from .schemas import TokenCreate, TokenCreated, TokenPublic

router = APIRouter(prefix="/wikis/{slug}/tokens", tags=["tokens"])


def _public(view: tokens.TokenView) -> dict[str, Any]:
    return asdict(view)


@router.get("", response_model=list[TokenPublic])
def list_tokens(slug: str, db: DbDep, user: UserDep) -> list[TokenPublic]:
    """Live tokens with their last use: everyone's for owners, your own otherwise."""
    return [TokenPublic(**_public(v)) for v in tokens.list_tokens(db, slug, user)]


@router.post("", response_model=TokenCreated, status_code=201)
def create_token(request: Request, slug: str, body: TokenCreate, db: DbDep, user: UserDep) -> TokenCreated:
    """Create a token for yourself; the secret is in this response only."""
    limits.enforce(request, "token_create", str(user.did))
    view, secret = tokens.create_token(
        db, slug, user, name=body.name, scopes=list(body.scopes), expires_in_days=body.expires_in_days
    )
    return TokenCreated(**_public(view), token=secret)


@router.delete("/{token_id}", status_code=204)
def revoke_token(slug: str, token_id: str, db: DbDep, user: UserDep) -> Response:
    """Revoke your token (owners: anyone's on the wiki)."""
    tokens.revoke_token(db, slug, user, token_id)
    return Response(status_code=204)
