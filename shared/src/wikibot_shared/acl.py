"""Roles and what they allow (ARCHITECTURE §4), decided from the live database on every request.

    role      read  write  attachments  manage (collaborators, tokens, settings, delete)
    owner     yes   yes    yes          yes
    editor    yes   yes    yes          no
    viewer    yes   no     no           no
    public    yes   no     no           no      (anyone, when the wiki is public)

On top of the role: a token's scopes narrow it (``wiki:read``, ``wiki:write``; write implies read), only a
platform session may manage, and a lapsed wiki refuses every write whatever the role. Where a principal may
write is narrowed by path rules (``pathrules``): an editor's membership, a token or a grant can be limited to
folder prefixes; ``write_area`` is the one place the rules of a request are put together, and every front
door checks the files a change touches against it before anything is written.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from .errors import Forbidden, InsufficientScope, NotFound, ReadOnly
from .models import Acl, PaymentStatus, Role, Wiki
from .pathrules import WriteArea, loaded

SCOPE_READ = "wiki:read"
SCOPE_WRITE = "wiki:write"
WIKI_SCOPES = (SCOPE_READ, SCOPE_WRITE)


class Action(enum.StrEnum):
    READ = "read"
    WRITE = "write"
    MANAGE = "manage"


ALLOWED: dict[Role | None, frozenset[Action]] = {
    Role.OWNER: frozenset({Action.READ, Action.WRITE, Action.MANAGE}),
    Role.EDITOR: frozenset({Action.READ, Action.WRITE}),
    Role.VIEWER: frozenset({Action.READ}),
    None: frozenset(),
}


@dataclass(frozen=True)
class WikiAccess:
    """A wiki as one principal sees it right now."""

    slug: str
    owner_did: str
    display_name: str
    is_public: bool
    is_lapsed: bool
    tier: str
    role: Role | None  # the principal's own role; None for strangers and anonymous visitors
    write_paths: tuple[str, ...] | None = None  # an editor only under these folders (pathrules); None: all
    agents_propose: bool = False  # agents' writes (OAuth apps, tokens) become proposals for review

    def can(self, action: Action) -> bool:
        """What the role allows (whatever the wiki's state: see ``writable``)."""
        if action in ALLOWED[self.role]:
            return True
        return action is Action.READ and self.is_public

    @property
    def writable(self) -> bool:
        """The role may write and the wiki takes writes now."""
        return self.can(Action.WRITE) and lapsed_refusal(self) is None


def lapsed_refusal(access: WikiAccess) -> ReadOnly | None:
    """A lapsed wiki refuses every write, whatever the role: the one place that rule lives."""
    if not access.is_lapsed:
        return None
    return ReadOnly(
        f"the wiki '{access.slug}' is read-only because its subscription has lapsed; "
        "its owner can restore it in the platform"
    )


# Built once: on the hot path of every request, constructing and cache-keying the statement cost more than
# running it. Columns rather than entities: no ORM identity map or instance loading for a read-only decision.
_WIKIS, _ACLS = Wiki.__table__, Acl.__table__
_WIKI_ACCESS = (
    select(
        _WIKIS.c.slug,
        _WIKIS.c.owner_did,
        _WIKIS.c.display_name,
        _WIKIS.c.is_public,
        _WIKIS.c.payment_status,
        _WIKIS.c.tier,
        _WIKIS.c.agents_propose,
        _ACLS.c.role,
        _ACLS.c.write_paths,
    )
    .select_from(
        _WIKIS.outerjoin(
            _ACLS, (_ACLS.c.wiki_slug == _WIKIS.c.slug) & (_ACLS.c.grantee_did == bindparam("did"))
        )
    )
    .where(_WIKIS.c.slug == bindparam("slug"))
)


def wiki_access(db: Session, slug: str, did: str | None) -> WikiAccess:
    """One query: the wiki and the principal's role on it. ``NotFound`` if there is no such wiki."""
    row = db.execute(_WIKI_ACCESS, {"slug": slug, "did": did or ""}).first()
    if row is None:
        raise NotFound(f"there is no wiki '{slug}'", code="unknown_wiki")
    wiki_slug, owner_did, display_name, is_public, payment_status, tier, propose, acl_role, acl_paths = row
    role: Role | None
    write_paths = None
    if did is not None and owner_did == did:
        role = Role.OWNER
    elif acl_role is not None:
        role = Role(acl_role)
        write_paths = loaded(acl_paths)
    else:
        role = None
    return WikiAccess(
        slug=wiki_slug,
        owner_did=owner_did,
        display_name=display_name,
        is_public=bool(is_public),
        is_lapsed=payment_status == PaymentStatus.LAPSED.value,
        tier=tier,
        role=role,
        write_paths=write_paths,
        agents_propose=bool(propose),
    )


AGENT_METHODS = frozenset({"oauth", "pat"})  # credentials an agent holds; a session is a person at the UI
REVIEW_MODES = ("propose", "direct")


def proposes(access: WikiAccess, method: str, review: str | None) -> bool:
    """Whether a write by this credential becomes a proposal: the credential's own setting ("propose" or
    "direct") if it has one, else the wiki's switch for agents. People signed in write directly."""
    if method not in AGENT_METHODS:
        return False
    if review in REVIEW_MODES:
        return review == "propose"
    return access.agents_propose


# Whose rule a refusal names, by how the request authenticated.
_HOLDERS = {"pat": "this token", "oauth": "this app"}


def write_area(
    access: WikiAccess, credential_paths: tuple[str, ...] | None = None, method: str = "session"
) -> WriteArea:
    """Where this request may write: the member's folders (if limited) and the credential's (a token's or an
    OAuth grant's), both at once. The one place path rules are combined; each front door checks the files a
    change touches with ``WriteArea.check``."""
    area = WriteArea(access.write_paths, "you")
    return area.narrowed(credential_paths, _HOLDERS.get(method, "you"))


def required_scope(action: Action) -> str | None:
    return {Action.READ: SCOPE_READ, Action.WRITE: SCOPE_WRITE, Action.MANAGE: None}[action]


def scopes_allow(scopes: frozenset[str] | None, action: Action) -> bool:
    """``None`` means an unscoped credential (a platform session)."""
    if scopes is None:
        return True
    if action is Action.READ:
        return SCOPE_READ in scopes or SCOPE_WRITE in scopes
    if action is Action.WRITE:
        return SCOPE_WRITE in scopes
    return False


def check(access: WikiAccess, action: Action, scopes: frozenset[str] | None) -> None:
    """Raise the precise refusal, or return if ``action`` is allowed. Authentication is the caller's."""
    if not access.can(action):
        if action is Action.READ:
            raise Forbidden(f"you have no access to the wiki '{access.slug}'", code="no_access")
        if access.role is None:
            raise Forbidden(f"you have no access to the wiki '{access.slug}'", code="no_access")
        raise Forbidden(
            f"your role on '{access.slug}' is {access.role.value}, which cannot {action.value}",
            code="role_forbids",
        )
    if not scopes_allow(scopes, action):
        needed = required_scope(action)
        if needed is None:
            raise Forbidden("managing a wiki needs a signed-in session, not a token", code="session_required")
        raise InsufficientScope(
            f"this token lacks the '{needed}' scope needed to {action.value}", scope=needed
        )
    if action is Action.WRITE and (refusal := lapsed_refusal(access)) is not None:
        raise refusal
