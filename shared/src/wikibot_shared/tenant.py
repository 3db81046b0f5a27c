"""Which tenant a request is for, from its ``Host`` header.

``{DOMAIN}`` is the platform; ``{slug}.{DOMAIN}`` is a wiki unless ``slug`` is reserved; anything else is not
ours. Slugs are DNS labels: 3–63 characters, lowercase letters, digits and single hyphens, starting with a
letter, so that every wiki is a valid host name and a valid directory name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InputError, InvalidHost, NotFound

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,61}[a-z0-9]$")
_HOST_RE = re.compile(r"^[a-z0-9.-]{1,253}(:[0-9]{1,5})?$")

# Names that are infrastructure, platform routes or likely to mislead; never wikis.
RESERVED = frozenset(
    [
        "www",
        "api",
        "app",
        "auth",
        "mcp",
        "admin",
        "administrator",
        "root",
        "static",
        "assets",
        "cdn",
        "media",
        "files",
        "img",
        "images",
        "mail",
        "smtp",
        "imap",
        "pop",
        "ftp",
        "ssh",
        "git",
        "repo",
        "status",
        "health",
        "docs",
        "doc",
        "help",
        "support",
        "blog",
        "news",
        "about",
        "legal",
        "terms",
        "privacy",
        "security",
        "login",
        "logout",
        "signin",
        "signup",
        "register",
        "account",
        "accounts",
        "settings",
        "dashboard",
        "billing",
        "pay",
        "payment",
        "payments",
        "oauth",
        "sso",
        "id",
        "identity",
        "well-known",
        "localhost",
        "local",
        "internal",
        "platform",
        "otterwiki",
        "embedder",
        "redis",
        "caddy",
        "postgres",
        "database",
        "db",
        "metrics",
        "grafana",
        "prometheus",
        "dev",
        "staging",
        "test",
        "demo",
        "example",
        "wikibot",
        "wiki",
        "wikis",
        "user",
        "users",
        "owner",
        "null",
        "undefined",
    ]
)


@dataclass(frozen=True)
class Tenant:
    """``slug`` is None for the platform itself."""

    slug: str | None

    @property
    def is_platform(self) -> bool:
        return self.slug is None


def slug_problem(slug: str) -> str | None:
    """Why ``slug`` cannot name a wiki, or None if it can."""
    if not SLUG_RE.match(slug):
        return (
            "a wiki name is 3–63 characters of lowercase letters, digits and hyphens, "
            "starting with a letter and not ending with a hyphen"
        )
    if "--" in slug:
        return "a wiki name cannot contain two hyphens in a row"
    if slug in RESERVED:
        return f"'{slug}' is reserved"
    return None


def validate_slug(slug: str) -> str:
    problem = slug_problem(slug)
    if problem:
        raise InputError(problem, code="invalid_slug")
    return slug


def tenant_from_host(host: str | None, domain: str) -> Tenant:
    if not host:
        raise InvalidHost("missing Host header")
    host = host.strip().lower()
    if not _HOST_RE.match(host):
        raise InvalidHost("malformed Host header")
    name = host.rsplit(":", 1)[0] if ":" in host else host
    name = name.rstrip(".")
    if name == domain:
        return Tenant(None)
    suffix = "." + domain
    if not name.endswith(suffix):
        raise InvalidHost(f"this server does not serve {name}")
    label = name[: -len(suffix)]
    if "." in label:
        raise InvalidHost(f"this server does not serve {name}")
    if label in RESERVED:
        raise NotFound(f"{label}.{domain} is not a wiki", code="unknown_wiki")
    if slug_problem(label):
        raise NotFound(f"{name} is not a wiki", code="unknown_wiki")
    return Tenant(label)
