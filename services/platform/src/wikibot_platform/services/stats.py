"""Platform statistics for admins (``ADMIN_DIDS``): users, wikis, pages, storage, queue depth, health."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import redis
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from wikibot_shared.errors import Forbidden
from wikibot_shared.health import check, readiness
from wikibot_shared.logs import propagation_headers
from wikibot_shared.models import AccessToken, OAuthGrant, User, UserSession, Wiki
from wikibot_shared.queue import STREAM
from wikibot_shared.verify import Principal

from ..config import PlatformSettings


def require_admin(settings: PlatformSettings, principal: Principal) -> None:
    if principal.did not in settings.admin_dids:
        raise Forbidden("this page is for platform administrators", code="admin_only")


def queue_depth(client: redis.Redis) -> dict[str, Any]:
    """Length of the change stream and, per consumer group, entries not yet delivered or not yet acked."""
    result: dict[str, Any] = {"stream_length": int(client.xlen(STREAM)), "groups": {}}
    try:
        groups: Any = client.xinfo_groups(STREAM)
    except redis.ResponseError:  # no stream yet
        return result
    for group in groups:
        result["groups"][str(group["name"])] = {
            "pending": int(group.get("pending") or 0),
            "lag": group.get("lag"),
        }
    return result


def counts(db: Session) -> dict[str, int]:
    def one(stmt: Any) -> int:
        return int(db.execute(stmt).scalar_one() or 0)

    return {
        "users": one(select(func.count()).select_from(User)),
        "wikis": one(select(func.count()).select_from(Wiki)),
        "public_wikis": one(select(func.count()).select_from(Wiki).where(Wiki.is_public.is_(True))),
        "lapsed_wikis": one(select(func.count()).select_from(Wiki).where(Wiki.payment_status == "lapsed")),
        "pages": one(select(func.coalesce(func.sum(Wiki.page_count), 0))),
        "bytes": one(select(func.coalesce(func.sum(Wiki.bytes), 0))),
        "live_sessions": one(
            select(func.count()).select_from(UserSession).where(UserSession.revoked_at.is_(None))
        ),
        "personal_tokens": one(
            select(func.count()).select_from(AccessToken).where(AccessToken.revoked_at.is_(None))
        ),
        "connected_apps": one(
            select(func.count()).select_from(OAuthGrant).where(OAuthGrant.revoked_at.is_(None))
        ),
    }


def health(settings: PlatformSettings, engine: Engine, client: redis.Redis) -> dict[str, Any]:
    _ok, checks = readiness(engine, client)
    urls = {**settings.peer_health_urls, "embedder": settings.embedder_internal_url.rstrip("/") + "/healthz"}

    headers = propagation_headers()  # read here: the pool's threads do not inherit the request's context

    def probe(url: str) -> dict[str, Any]:
        return check(
            lambda: httpx.get(url, timeout=2.0, headers=headers, follow_redirects=False).raise_for_status()
        )

    with ThreadPoolExecutor(max_workers=len(urls)) as pool:
        results = dict(zip(urls, pool.map(probe, urls.values()), strict=True))
    return {**checks, **results}


def platform_stats(
    db: Session, settings: PlatformSettings, engine: Engine, client: redis.Redis
) -> dict[str, Any]:
    try:
        queue: dict[str, Any] = queue_depth(client)
    except redis.RedisError as exc:
        queue = {"error": str(exc)[:200]}
    return {"counts": counts(db), "queue": queue, "health": health(settings, engine, client)}
