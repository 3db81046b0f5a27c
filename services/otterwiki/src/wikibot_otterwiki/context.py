"""The wiki a request is for, as one object, bound for the duration of that request.

Otterwiki keeps its repository, settings database and configuration in module globals. Those globals are
replaced by proxies (``boot``) that read ``current()``: the middleware binds a ``WikiRequest`` before it hands
the request to Otterwiki and unbinds it afterwards, so every lookup Otterwiki makes lands on that wiki's objects.
The binding is a ``ContextVar``; Gunicorn runs sync workers (one request per process at a time), and a
``ContextVar`` would keep threads apart too, but Otterwiki's renderer is a shared mutable object, so threads
are not used.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wikibot_shared.acl import Action, WikiAccess, write_area
from wikibot_shared.pathrules import WriteArea
from wikibot_shared.storage import Author
from wikibot_shared.tiers import Tier
from wikibot_shared.verify import Principal

if TYPE_CHECKING:
    from .services import Services
    from .state import WikiState


class NoWikiBound(RuntimeError):
    """Otterwiki touched per-wiki state outside a request for a wiki (a bug, never a user error)."""


@dataclass
class WikiRequest:
    slug: str
    access: WikiAccess
    principal: Principal
    tier: Tier
    state: WikiState
    services: Services
    changed: set[str] = field(default_factory=set)  # paths committed during this request
    outside_page: str | None = None  # the page file of this request's URL, when the visitor may not write it
    _lock: ExitStack | None = None

    @property
    def role_name(self) -> str:
        if self.access.role is not None:
            return self.access.role.value
        return "public reader"

    @property
    def author(self) -> Author:
        assert self.principal.did is not None
        return Author.for_did(self.principal.did, self.principal.handle)

    @property
    def write_area(self) -> WriteArea:
        """Where the visitor may write (a member limited to some folders; sessions carry no rule of their own)."""
        return write_area(self.access, self.principal.write_paths, self.principal.method)

    @property
    def may_write(self) -> bool:
        """The role allows writing (whether or not the wiki is lapsed)."""
        return self.access.can(Action.WRITE)

    def hold_lock(self) -> None:
        if self._lock is None:
            stack = ExitStack()
            stack.enter_context(self.services.lock(self.slug))
            self._lock = stack

    def release_lock(self) -> None:
        stack, self._lock = self._lock, None
        if stack is not None:
            stack.close()


_current: ContextVar[WikiRequest | None] = ContextVar("wikibot_otterwiki_wiki", default=None)


def current() -> WikiRequest:
    wiki = _current.get()
    if wiki is None:
        raise NoWikiBound("no wiki is bound to this request")
    return wiki


def current_or_none() -> WikiRequest | None:
    return _current.get()


@contextmanager
def bound(wiki: WikiRequest) -> Iterator[WikiRequest]:
    token = _current.set(wiki)
    try:
        yield wiki
    finally:
        _current.reset(token)


def bind(wiki: WikiRequest) -> Any:
    """Bind without a ``with`` block (the WSGI body may outlive the call); returns the token for ``unbind``."""
    return _current.set(wiki)


def unbind(token: Any) -> None:
    try:
        _current.reset(token)
    except ValueError:  # closed from another context than the one that bound it
        _current.set(None)
