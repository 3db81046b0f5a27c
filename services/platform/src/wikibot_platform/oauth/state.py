"""Short-lived OAuth state in Redis (ARCHITECTURE §2): authorization codes and consent tickets.

Codes are stored under their SHA-256 and redeemed with GETDEL, so a code works once, whichever worker sees it
(RFC 6749 §4.1.2). A redeemed code leaves a marker naming the grant it produced: presenting it again revokes
that grant (RFC 6749 §4.1.2 "SHOULD revoke … all tokens previously issued based on that code").

A consent ticket is the validated authorization request a consent page answers. Its id is the form's CSRF
token: unguessable, single use, and bound to the session that saw the page.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

import redis

from wikibot_shared.tokens import sha256_hex

from .models import AuthorizationCode

CODE_PREFIX = "wikibot:oauth:code:"
USED_PREFIX = "wikibot:oauth:code-used:"
TICKET_PREFIX = "wikibot:oauth:consent:"
USED_MARKER_TTL = 24 * 3600


class CodeStore:
    def __init__(self, client: redis.Redis, ttl: int) -> None:
        self.redis = client
        self.ttl = ttl

    def new(self) -> tuple[str, str]:
        code = secrets.token_urlsafe(32)
        return code, sha256_hex(code)

    def save(self, code: AuthorizationCode) -> None:
        self.redis.set(CODE_PREFIX + code.code_hash, json.dumps(code.to_dict()), ex=self.ttl)

    def redeem(self, code: str) -> AuthorizationCode | None:
        """The code's data, removed in the same step; None if unknown, expired or already redeemed."""
        code_hash = sha256_hex(code)
        raw: Any = self.redis.getdel(CODE_PREFIX + code_hash)
        if raw is None:
            return None
        return AuthorizationCode.from_dict(code_hash, json.loads(raw))

    def mark_redeemed(self, code_hash: str, grant_id: str) -> None:
        self.redis.set(USED_PREFIX + code_hash, grant_id, ex=USED_MARKER_TTL)

    def grant_of_redeemed(self, code: str) -> str | None:
        value: Any = self.redis.get(USED_PREFIX + sha256_hex(code))
        return str(value) if value else None


@dataclass(frozen=True)
class Ticket:
    session_id: str
    did: str
    params: list[tuple[str, str]]  # the authorization request's query, as received


class TicketStore:
    def __init__(self, client: redis.Redis, ttl: int) -> None:
        self.redis = client
        self.ttl = ttl

    def issue(self, ticket: Ticket) -> str:
        ticket_id = secrets.token_urlsafe(32)
        data = {"sid": ticket.session_id, "did": ticket.did, "params": ticket.params}
        self.redis.set(TICKET_PREFIX + sha256_hex(ticket_id), json.dumps(data), ex=self.ttl)
        return ticket_id

    def take(self, ticket_id: str) -> Ticket | None:
        """Single use: the ticket is gone once answered (or tampered with)."""
        if not ticket_id or len(ticket_id) > 100:
            return None
        raw: Any = self.redis.getdel(TICKET_PREFIX + sha256_hex(ticket_id))
        if raw is None:
            return None
        data = json.loads(raw)
        return Ticket(data["sid"], data["did"], [(str(k), str(v)) for k, v in data["params"]])
