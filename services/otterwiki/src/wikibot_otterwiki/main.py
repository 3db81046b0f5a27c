"""The otterwiki service's WSGI application factory."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from wikibot_shared.config import settings_or_exit
from wikibot_shared.db import make_engine, make_session_factory
from wikibot_shared.errors import NotFound
from wikibot_shared.models import Wiki
from wikibot_shared.queue import redis_client
from wikibot_shared.tenant import tenant_from_host

from .config import OtterwikiSettings
from .edge import Edge, StartResponse, json_response


def create_app(settings: OtterwikiSettings | None = None) -> Edge:
    settings = settings or settings_or_exit(OtterwikiSettings)
    assert settings.database_url
    engine = make_engine(settings.database_url)
    db = make_session_factory(engine)

    def ui(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        tenant = tenant_from_host(environ.get("HTTP_HOST"), settings.domain)
        if tenant.slug is None:
            raise NotFound("the platform is not served here", code="not_found")
        with db() as session:
            if session.execute(select(Wiki.slug).where(Wiki.slug == tenant.slug)).first() is None:
                raise NotFound(f"there is no wiki '{tenant.slug}'", code="unknown_wiki")
        return json_response(
            start_response, 503, {"error": "unavailable", "message": "wiki UI not installed"}
        )

    return Edge(ui, settings=settings, engine=engine, redis=redis_client(settings.redis_url))
