"""Which Otterwiki settings a wiki's owner may change, which are pinned, and what a new wiki starts with.

Otterwiki's own access control (``READ_ACCESS`` …, users, registration) is dead in proxy-header mode: the
middleware is the only gate. Still, everything that could open a wiki or reach outside it is pinned here, and
the per-wiki preferences an owner saves are filtered through ``OWNER_KEYS`` before they take effect, so no row
in a wiki's settings database — whoever wrote it — can widen access, turn on Otterwiki's git server, remote
push/pull or mail, or change how page names map to files (the mcp service writes the same files).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

# What an owner may change in Otterwiki's admin pages (Application, Sidebar, Content and Editing).
OWNER_KEYS = frozenset(
    {
        "SITE_DESCRIPTION",
        "SITE_LOGO",
        "SITE_ICON",
        "SITE_LANG",
        "HIDE_LOGO",
        "OPEN_LINKS_IN_NEW_TAB",
        "ROBOTS_TXT",  # honoured for public wikis; a private wiki always disallows
        "HOME_PAGE",
        "NOT_FOUND_PAGE",
        "SIDEBAR_CUSTOM_MENU",
        "SIDEBAR_SHORTCUTS",
        "SIDEBAR_MENUTREE_MODE",
        "SIDEBAR_MENUTREE_FOCUS",
        "SIDEBAR_MENUTREE_MAXDEPTH",
        "SIDEBAR_MENUTREE_IGNORE_CASE",
        "COMMIT_MESSAGE",
        "DEFAULT_COMMIT_MESSAGE",
        "WIKILINK_STYLE",
        "TREAT_UNDERSCORE_AS_SPACE_FOR_TITLES",
    }
)
_BOOLEAN_KEYS = frozenset(
    {
        "HIDE_LOGO",
        "OPEN_LINKS_IN_NEW_TAB",
        "SIDEBAR_MENUTREE_IGNORE_CASE",
        "TREAT_UNDERSCORE_AS_SPACE_FOR_TITLES",
    }
)

# Always in force, whatever a wiki's settings database says.
PINNED: Mapping[str, Any] = {
    "AUTH_METHOD": "PROXY_HEADER",
    "READ_ACCESS": "APPROVED",
    "WRITE_ACCESS": "APPROVED",
    "ATTACHMENT_ACCESS": "APPROVED",
    "AUTO_APPROVAL": False,
    "DISABLE_REGISTRATION": True,
    "EMAIL_NEEDS_CONFIRMATION": True,
    "NOTIFY_ADMINS_ON_REGISTER": False,
    "NOTIFY_USER_ON_APPROVAL": False,
    "ADMIN_USER_EMAIL": "",
    "RETAIN_PAGE_NAME_CASE": True,  # storage.OTTERWIKI_PAGE_CONFIG: the mcp service writes the same files
    "GIT_WEB_SERVER": False,  # git goes through the mcp service's /repo.git, with tokens
    "GIT_REMOTE_PUSH_ENABLED": False,
    "GIT_REMOTE_PUSH_URL": "",
    "GIT_REMOTE_PUSH_PRIVATE_KEY": "",
    "GIT_REMOTE_PULL_ENABLED": False,
    "GIT_REMOTE_PULL_URL": "",
    "GIT_REMOTE_PULL_PRIVATE_KEY": "",
    "MAIL_SERVER": "",
    "MAIL_USERNAME": "",
    "MAIL_PASSWORD": "",
    "SERVER_NAME": None,
    "RENDERER_HTML_ALLOWLIST": "",
    "HTML_EXTRA_HEAD": "",
    "HTML_EXTRA_BODY": "",
}

# Rows a new wiki's settings database starts with: private by default, even to Otterwiki itself.
SEED: Mapping[str, str] = {
    "READ_ACCESS": "APPROVED",
    "WRITE_ACCESS": "APPROVED",
    "ATTACHMENT_ACCESS": "APPROVED",
    "AUTO_APPROVAL": "False",
    "DISABLE_REGISTRATION": "True",
    "RETAIN_PAGE_NAME_CASE": "True",
    "ROBOTS_TXT": "disallow",
}


def owner_preferences(rows: Mapping[str, str | None]) -> dict[str, Any]:
    """The owner's saved preferences that may take effect, converted as Otterwiki converts them."""
    prefs: dict[str, Any] = {}
    for name, value in rows.items():
        key = name.upper()
        if key not in OWNER_KEYS:
            continue
        if key in _BOOLEAN_KEYS:
            prefs[key] = str(value or "").lower() in ("true", "yes")
        else:
            prefs[key] = "" if value is None else value
    return prefs


def wiki_secret(master: bytes, slug: str) -> str:
    """The key that signs one wiki's Otterwiki cookie: a cookie (or CSRF token) of one wiki is void on another."""
    return hmac.new(master, f"otterwiki-cookie:{slug}".encode(), hashlib.sha256).hexdigest()


def overlay(
    prefs: Mapping[str, Any], *, secret_key: str, site_name: str, is_public: bool, max_upload: int
) -> dict[str, Any]:
    """A wiki's configuration on top of the process-wide defaults: owner preferences, then the pinned values."""
    config: dict[str, Any] = dict(prefs)
    config.update(PINNED)
    config["SECRET_KEY"] = secret_key
    config["WTF_CSRF_SECRET_KEY"] = secret_key
    apply_live(config, prefs, site_name=site_name, is_public=is_public, max_upload=max_upload)
    return config


def apply_live(
    config: dict[str, Any], prefs: Mapping[str, Any], *, site_name: str, is_public: bool, max_upload: int
) -> None:
    """The values that follow the platform's live wiki row (name, visibility, tier): cheap, every request."""
    config["SITE_NAME"] = site_name
    config["ROBOTS_TXT"] = prefs.get("ROBOTS_TXT", "disallow") if is_public else "disallow"
    config["MAX_CONTENT_LENGTH"] = max_upload
