"""Scopes of this authorization server and what a user may grant with them (ARCHITECTURE §4).

    wiki:read        read pages, search, history
    wiki:write       create, edit, delete pages (implies wiki:read at the resource)
    offline_access   stays connected: a refresh token (30 days from its last use, rotated on every use)

A user can only grant what their live role allows: an editor or owner may grant ``wiki:write``, a viewer
``wiki:read`` only, anyone ``wiki:read`` on a public wiki. A client that asked for ``wiki:write`` from a viewer
is offered ``wiki:read`` instead (RFC 6749 §3.3: the server may issue a narrower scope, and says so).

``offline_access`` follows the client's registration, not its request: a client registered for the
``refresh_token`` grant (by DCR or its metadata document) stays connected whether or not it asks for it (MCP
clients rarely know to), and one that is not registered for it never gets a refresh token. The granted scope
names ``offline_access`` exactly when a refresh token comes with it. Scopes this server does not know are
ignored, and a request that names no wiki scope asks for the default (RFC 6749 §3.3).
"""

from __future__ import annotations

from wikibot_shared import acl

OFFLINE_ACCESS = "offline_access"
SCOPES_SUPPORTED = (acl.SCOPE_READ, acl.SCOPE_WRITE, OFFLINE_ACCESS)
WIKI_SCOPES = acl.WIKI_SCOPES

DESCRIPTIONS = {
    acl.SCOPE_READ: "Read pages, search and page history",
    acl.SCOPE_WRITE: "Create, edit, rename and delete pages",
    OFFLINE_ACCESS: "Stay connected without asking you again (until it goes unused for 30 days, or you disconnect it)",
}


def parse_scope(scope: str | None) -> list[str]:
    """RFC 6749 §3.3: space-delimited, order irrelevant; duplicates dropped, first-seen order kept."""
    seen: list[str] = []
    for item in (scope or "").split():
        if item not in seen:
            seen.append(item)
    return seen


def default_scope() -> str:
    """RFC 6749 §3.3: what an authorization request without a wiki scope asks for (what an agent needs)."""
    return f"{acl.SCOPE_READ} {acl.SCOPE_WRITE}"


def requested_scopes(scope: str | None, *, stays_connected: bool) -> list[str]:
    """What a request asks for, as this server reads it: the scopes it knows, the default wiki scopes if it
    names none, and ``offline_access`` exactly when the client is registered for refresh tokens."""
    known = [s for s in parse_scope(scope) if s in WIKI_SCOPES]
    wiki = known or parse_scope(default_scope())
    return [*wiki, OFFLINE_ACCESS] if stays_connected else wiki


def grantable(access: acl.WikiAccess, requested: list[str]) -> list[str]:
    """The scopes this user may grant on this wiki for this request ([] means nothing: refuse)."""
    may_read = access.can(acl.Action.READ)
    may_write = access.can(acl.Action.WRITE)
    wants_read = acl.SCOPE_READ in requested
    wants_write = acl.SCOPE_WRITE in requested
    result: list[str] = []
    if wants_write and may_write:
        result.append(acl.SCOPE_WRITE)
        if wants_read:
            result.insert(0, acl.SCOPE_READ)
    elif (wants_read or wants_write) and may_read:
        result.append(acl.SCOPE_READ)
    if result and OFFLINE_ACCESS in requested:
        result.append(OFFLINE_ACCESS)
    return result


def withheld(requested: list[str], granted: list[str]) -> list[str]:
    return [s for s in requested if s not in granted]
