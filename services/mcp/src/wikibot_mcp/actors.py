"""From a request's one authorization decision to a wiki ``Actor``, and the channel that carries the decision.

The decision (authentication, role, scopes, lapsed state) is ``wikibot_shared.verify.Verifier.authorize``'s, made
once per request by the front door (``mcp_http``, ``rest``, ``feeds``, ``githttp``) through ``Actors.authorize``,
which also charges the credential's rate limits (``limits``); nothing here decides again. This module adds what
the wiki core needs on top: the commit author — the person's handle and DID, and the OAuth client's
name when an agent acts for them — and ``CURRENT_ACCESS``, the one channel from ``/mcp`` to the tools.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from contextvars import ContextVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from wikibot_shared import acl
from wikibot_shared.models import OAuthClient
from wikibot_shared.storage import Author
from wikibot_shared.verify import Access, Verifier
from wikibot_shared.verify.decisions import EPOCH_KEY, DecisionCache, epoch_value, read_epoch

from .limits import CredentialLimits
from .wiki import Actor

MAX_CLIENT_NAMES = 1024
# The request's ``Access``, set by ``/mcp`` for the duration of one request (fast path and SDK path alike) and
# read by the tools; never across requests.
CURRENT_ACCESS: ContextVar[Access | None] = ContextVar("wikibot_mcp_access", default=None)


class Actors:
    def __init__(
        self,
        verifier: Verifier,
        db: sessionmaker[Session],
        limits: CredentialLimits | None = None,
        decisions: DecisionCache | None = None,
    ) -> None:
        self.verifier = verifier
        self.db = db
        self.limits = limits
        self.decisions = decisions  # used only with limits: the epoch rides on their round trip
        self._client_names: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def authorize(
        self,
        host: str | None,
        headers: Mapping[str, str],
        cookies: Mapping[str, str],
        action: acl.Action,
        *,
        address: str,
        word_refusals: bool = False,
    ) -> Access:
        """The request's one decision (``Verifier.authorize``), then one request of its credential counted for
        ``action`` (``RateLimited`` past a limit). ``address``: the caller's, for anonymous readers. A decision
        kept from a moment ago (``decisions``) is used if the authorization epoch, read in the rate limits'
        round trip, is still the one it was made under."""

        def decide() -> Access:
            return self.verifier.authorize(host, headers, cookies, action, word_refusals=word_refusals)

        if self.limits is None or self.decisions is None:
            access = decide()
            if self.limits is not None:
                self.limits.charge(access, action, address)
            return access
        key = DecisionCache.key(host, headers, cookies, action, word_refusals)
        now = time.time()
        kept = self.decisions.get(key, now)
        if kept is not None:
            read = self.limits.charge(kept.access, action, address, read=EPOCH_KEY)
            epoch = epoch_value(read.value) if read.reached else None
            if epoch == kept.epoch:
                return kept.access
            self.decisions.drop(key)
            # decided afresh below, under the epoch just read (read before the decision: a change after it
            # moves the epoch on again); the request is already counted
            access = decide()
        else:
            epoch = read_epoch(self.limits.client)
            access = decide()
            self.limits.charge(access, action, address)
        if epoch is not None:
            self.decisions.put(key, access, epoch, now)
        return access

    def actor(self, access: Access, source: str, action: acl.Action) -> Actor:
        """The wiki actor of an authorized request, for ``action``: its decided refusal, if it has one, is raised
        here (``Access.require``), never re-decided."""
        access.require(action)
        principal = access.principal
        via = self.client_name(principal.client_id) if principal.method == "oauth" else None
        author = Author.for_did(principal.did or "", principal.handle, via=via)
        agent = principal.method in acl.AGENT_METHODS
        return Actor(
            access.wiki,
            author,
            source,
            authorized=access.action,
            write_area=access.write_area,
            proposes=access.proposes,
            credential=principal.credential_id if agent else None,
            credential_kind=principal.method if agent else None,
            did=principal.did,
        )

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
