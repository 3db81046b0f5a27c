"""Otterwiki's proxy-header auth as Wikibot runs it (imported only after ``boot`` has loaded Otterwiki)."""

from __future__ import annotations

from typing import Any

from flask import g, request
from otterwiki.auth import ProxyHeaderAuth


class WikibotProxyAuth(ProxyHeaderAuth):  # type: ignore[misc]
    """Upstream proxy-header auth; a request without identity headers is an anonymous visitor whose
    permissions are the ones the middleware put in the permissions header (``READ`` on a public wiki)."""

    def request_loader(self, req: Any) -> Any:
        if self._username_header not in req.headers:
            return None
        return super().request_loader(req)

    def has_permission(self, permission: str, user: Any) -> bool:
        if user.is_authenticated:
            return bool(super().has_permission(permission, user))
        return permission.upper() in self._anonymous_permissions()

    def _anonymous_permissions(self) -> set[str]:
        """Parsed once per request: templates ask dozens of times."""
        granted: set[str] | None = g.get("wikibot_anonymous_permissions")
        if granted is None:
            roles = self._parse_roles(request.headers.get(self._roles_header, ""))
            granted = self._map_roles_to_permissions(roles)
            g.wikibot_anonymous_permissions = granted
        return granted

    def supported_features(self) -> dict[str, bool]:
        return {"passwords": False, "editing": False, "logout": True}
