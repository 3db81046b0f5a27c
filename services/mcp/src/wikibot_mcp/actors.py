"""From a verified request to a wiki ``Actor``: the shared ACL decision, and the commit author.

Authentication and the role always come from ``wikibot_shared.verify.Verifier`` (never re-implemented here);
this module adds what the wiki core needs: the action check (scopes, role, lapsed state via ``acl.check``) and
the author of the commits — the person's handle and DID, and the OAuth client's name when an agent acts for
them.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from wikibot_shared import acl
from wikibot_shared.models import OAuthClient
from wikibot_shared.storage import Author
from wikibot_shared.verify import Access, Verifier

from .wiki import Actor

MAX_CLIENT_NAMES = 1024


class Actors:
    def __init__(self, verifier: Verifier, db: sessionmaker[Session]) -> None:
        self.verifier = verifier
        self.db = db
        self._client_names: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def authorize(
        self, host: str | None, headers: Mapping[str, str], cookies: Mapping[str, str], action: acl.Action
    ) -> Access:
        return self.verifier.authorize(host, headers, cookies, action)

    def actor(self, access: Access, source: str, action: acl.Action) -> Actor:
        principal = access.principal
        acl.check(access.wiki, action, principal.scopes)
        via = self.client_name(principal.client_id) if principal.method == "oauth" else None
        author = Author.for_did(principal.did or "", principal.handle, via=via)
        return Actor(access.wiki, principal.scopes, author, source)

    def client_name(self, client_id: str | None) -> str | None:
        if not client_id:
            return None
        with self._lock:
            if client_id in self._client_names:
                return self._client_names[client_id]
        with self.db() as db:
            name = db.execute(
                select(OAuthClient.client_name).where(OAuthClient.client_id == client_id)
            ).scalar()
        name = (name or "").strip()[:100] or None
        with self._lock:
            if len(self._client_names) >= MAX_CLIENT_NAMES:
                self._client_names.clear()
            self._client_names[client_id] = name
        return name
