"""Where a browser goes once signed in: ``return_to`` if it is on our hosts, else the dashboard.

A wiki host (``{slug}.{DOMAIN}``) does not see the platform's cookie on localhost, so it gets the session through
a one-time handoff code (``wikibot_shared.handoff``); the platform's own URLs are followed as they are.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import redis

from wikibot_shared.errors import WikibotError
from wikibot_shared.handoff import create_handoff, safe_path
from wikibot_shared.tenant import tenant_from_host

from ..config import PlatformSettings


def _same_origin_parts(settings: PlatformSettings, url: str) -> tuple[str | None, str] | None:
    """(slug or None for the platform, local path) when ``url`` is one of our public URLs, else None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme != settings.public_scheme or not parts.hostname or parts.username or parts.password:
        return None
    expected_port = urlsplit(settings.platform_url).port
    try:
        if parts.port != expected_port:
            return None
        tenant = tenant_from_host(parts.hostname, settings.domain)
    except (ValueError, WikibotError):
        return None
    path = safe_path((parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
    return tenant.slug, path


def landing_url(
    settings: PlatformSettings, client: redis.Redis, session_token: str, return_to: str | None
) -> str:
    default = f"{settings.platform_url}/app"
    if not return_to:
        return default
    if return_to.startswith("/") and not return_to.startswith("//"):
        return settings.platform_url + safe_path(return_to)
    found = _same_origin_parts(settings, return_to)
    if found is None:
        return default
    slug, path = found
    if slug is None:
        return settings.platform_url + path
    code = create_handoff(client, token=session_token, slug=slug, path=path)
    return f"{settings.wiki_url(slug)}/-/session?{urlencode({'code': code})}"
