"""Why an ATProto sign-in failed, in words a person can act on.

AtprotoError                      (a WikibotError)
├── IdentityError          400    the handle, DID or PDS cannot be resolved or does not check out
├── AuthServerError        502    the PDS or its authorization server is misconfigured or misbehaves
├── CallbackError          400    the redirect back to us is unknown, replayed, forged or an error
└── TokenError             502    the token endpoint refused us or answered something we cannot accept
"""

from __future__ import annotations

from wikibot_shared.errors import WikibotError


class AtprotoError(WikibotError):
    status = 400
    code = "atproto_error"


class IdentityError(AtprotoError):
    code = "identity_error"


class AuthServerError(AtprotoError):
    status = 502
    code = "bad_authorization_server"


class CallbackError(AtprotoError):
    code = "invalid_callback"


class TokenError(AtprotoError):
    status = 502
    code = "token_error"
