"""Where a person lands after signing in: ``return_to`` only on our own hosts, and wiki hosts by session handoff."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

import redis

from wikibot_shared.config import CommonSettings
from wikibot_shared.errors import WikibotError
from wikibot_shared.handoff import create_handoff, safe_path
from wikibot_shared.tenant import tenant_from_host

DEFAULT_PATH = "/app"


def safe_return_to(settings: CommonSettings, value: str | None) -> str:
    """An absolute URL on ``DOMAIN`` or one of its wiki hosts (same scheme and port), else the dashboard.

    Relative paths are taken as platform paths. Anything else — other hosts, other schemes, credentials,
    ``//evil``, backslashes, control characters — falls back to ``/app`` (no open redirect)."""
    fallback = settings.platform_url + DEFAULT_PATH
    if not value or len(value) > 2048:
        return fallback
    if value.startswith("/"):
        path = safe_path(value)
        return fallback if path == "/" and value != "/" else settings.platform_url + path
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return fallback
    if parts.scheme != settings.public_scheme or parts.username or parts.password or "\\" in value:
        return fallback
    if any(c < " " or c == "\x7f" for c in value):
        return fallback
    try:
        tenant = tenant_from_host(parts.netloc, settings.domain)
    except WikibotError:
        return fallback
    origin = settings.platform_url if tenant.slug is None else settings.wiki_url(tenant.slug)
    if f"{parts.scheme}://{parts.netloc.lower()}" != origin:  # the port must be ours too
        return fallback
    return urlunsplit((parts.scheme, parts.netloc.lower(), parts.path or "/", parts.query, ""))


def landing_url(settings: CommonSettings, client: redis.Redis, *, token: str, return_to: str) -> str:
    """``return_to`` itself on the platform; on a wiki host, the handoff that gives that host the session."""
    url = safe_return_to(settings, return_to)
    parts = urlsplit(url)
    tenant = tenant_from_host(parts.netloc, settings.domain)
    if tenant.slug is None:
        return url
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    code = create_handoff(client, token=token, slug=tenant.slug, path=path)
    return f"{settings.wiki_url(tenant.slug)}/-/session?{urlencode({'code': code})}"
