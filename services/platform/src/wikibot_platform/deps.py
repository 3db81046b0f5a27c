"""Request dependencies: the database session and the signed-in user, both through the shared core."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from wikibot_shared.errors import AuthError
from wikibot_shared.verify import Principal


def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.db() as db:
        yield db


def optional_user(request: Request) -> Principal | None:
    """The platform session of this request (cookie or Bearer), or None; errors only for bad credentials."""
    principal: Principal
    _tenant, principal = request.app.state.verifier.authenticate(
        request.headers.get("host"), request.headers, request.cookies
    )
    if principal.is_anonymous:
        return None
    if principal.method != "session":
        raise AuthError("the platform accepts only a signed-in session", code="invalid_token")
    request.state.user = principal
    return principal


def require_user(user: Annotated[Principal | None, Depends(optional_user)]) -> Principal:
    if user is None:
        raise AuthError("sign in first", code="unauthenticated", challenge="Bearer")
    return user


DbDep = Annotated[Session, Depends(get_db)]
UserDep = Annotated[Principal, Depends(require_user)]
OptionalUserDep = Annotated[Principal | None, Depends(optional_user)]
