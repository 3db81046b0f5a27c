"""One-time sign-in links for operators and end-to-end tests (``wikibot-admin login-link USERNAME``).

The link carries 256 random bits; Redis keeps only their SHA-256, for minutes, and the first use deletes it
(GETDEL), so a link works once. Minting and redeeming are both logged (never the secret).
"""

from __future__ import annotations

import json
import logging
import secrets
import time

import redis

from wikibot_shared.errors import AuthError, InputError
from wikibot_shared.tokens import sha256_hex

log = logging.getLogger("wikibot.platform.loginlink")
KEY_PREFIX = "wikibot:loginlink:"
PATH = "/auth/link"


def mint(client: redis.Redis, *, did: str, ttl: int) -> str:
    token = secrets.token_urlsafe(32)
    record = {"did": did, "expires": int(time.time()) + ttl}
    client.set(KEY_PREFIX + sha256_hex(token), json.dumps(record), ex=ttl)
    log.info("login link minted", extra={"did": did, "ttl": ttl})
    return token


def redeem(client: redis.Redis, token: str | None) -> str:
    """The DID the link signs in; refused when unknown, expired or already used."""
    if not token or len(token) > 100:
        raise InputError("missing or malformed sign-in link", code="invalid_link")
    raw = client.getdel(KEY_PREFIX + sha256_hex(token))
    if raw is None:
        log.warning("login link refused: unknown, expired or used")
        raise AuthError(
            "this sign-in link has expired or was already used; ask for a new one", code="invalid_link"
        )
    did = str(json.loads(raw)["did"])
    log.info("login link used", extra={"did": did})
    return did
