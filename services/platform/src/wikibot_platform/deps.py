"""Request dependencies: the database session and the signed-in user, both through the shared core.

Every cookie-authenticated unsafe request is checked against CSRF here (``csrf.verify``), and every unsafe
request of a signed-in user counts against the ``api_write`` rate limit, so no route can forget either.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import redis
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from wikibot_shared.errors import AuthError
from wikibot_shared.verify import Principal

from . import limits
from .auth import csrf
from .config import PlatformSettings


def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.db() as db:
        yield db


def get_settings(request: Request) -> PlatformSettings:
    settings: PlatformSettings = request.app.state.settings
    return settings


def get_redis(request: Request) -> redis.Redis:
    client: redis.Redis = request.app.state.redis
    return client


async def optional_user(request: Request) -> Principal | None:
    """The platform session of this request (cookie or Bearer), or None; errors only for bad credentials."""
    principal: Principal
    _tenant, principal = await run_in_threadpool(
        request.app.state.verifier.authenticate, request.headers.get("host"), request.headers, request.cookies
    )
    if principal.is_anonymous:
        return None
    if principal.method != "session":
        raise AuthError("the platform accepts only a signed-in session", code="invalid_token")
    await csrf.verify(request, principal)
    request.state.user = principal
    return principal


def require_user(request: Request, user: Annotated[Principal | None, Depends(optional_user)]) -> Principal:
    if user is None:
        raise AuthError("sign in first", code="unauthenticated", challenge="Bearer")
    if request.method not in csrf.SAFE_METHODS:
        limits.enforce(request, "api_write", str(user.did))
    return user


DbDep = Annotated[Session, Depends(get_db)]
UserDep = Annotated[Principal, Depends(require_user)]
OptionalUserDep = Annotated[Principal | None, Depends(optional_user)]
SettingsDep = Annotated[PlatformSettings, Depends(get_settings)]
RedisDep = Annotated[redis.Redis, Depends(get_redis)]
