"""Scopes of this authorization server and what a user may grant with them (ARCHITECTURE §4).

    wiki:read        read pages, search, history
    wiki:write       create, edit, delete pages (implies wiki:read at the resource)
    offline_access   a refresh token, so the client stays connected without the user (30 days, rotated)

A user can only grant what their live role allows: an editor or owner may grant ``wiki:write``, a viewer
``wiki:read`` only, anyone ``wiki:read`` on a public wiki. A client that asked for ``wiki:write`` from a viewer
is offered ``wiki:read`` instead (RFC 6749 §3.3: the server may issue a narrower scope, and says so).
"""

from __future__ import annotations

from wikibot_shared import acl

OFFLINE_ACCESS = "offline_access"
SCOPES_SUPPORTED = (acl.SCOPE_READ, acl.SCOPE_WRITE, OFFLINE_ACCESS)
WIKI_SCOPES = acl.WIKI_SCOPES

DESCRIPTIONS = {
    acl.SCOPE_READ: "Read pages, search and page history",
    acl.SCOPE_WRITE: "Create, edit, rename and delete pages",
    OFFLINE_ACCESS: "Stay connected for up to 30 days without asking you again",
}


def parse_scope(scope: str | None) -> list[str]:
    """RFC 6749 §3.3: space-delimited, order irrelevant; duplicates dropped, first-seen order kept."""
    seen: list[str] = []
    for item in (scope or "").split():
        if item not in seen:
            seen.append(item)
    return seen


def default_scope() -> str:
    """RFC 6749 §3.3: what an authorization request without ``scope`` asks for."""
    return f"{acl.SCOPE_READ} {acl.SCOPE_WRITE}"


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
