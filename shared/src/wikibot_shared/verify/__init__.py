"""The one verification entry point: (Host, headers, cookies) → ``Principal``, or a precise ``AuthError``.

Every service calls ``Verifier.authenticate`` (who is this?) or ``Verifier.authorize`` (may they do this on
this wiki?). Three credentials are understood (ARCHITECTURE §3):

- platform session JWT — cookie ``wikibot_session`` or ``Authorization: Bearer``; ``typ`` session, ``aud`` the
  platform's session audience, its ``sid`` must be a live session row;
- OAuth access JWT (RFC 9068) — ``Authorization: Bearer``; ``aud`` must be *this* wiki's MCP URL, its grant
  (``gid``) must be unrevoked;
- personal access token — ``Authorization: Bearer wbp_…`` or as the password of HTTP Basic (git); looked up by
  SHA-256, unrevoked, unexpired, bound to this wiki.

Only ES256 signatures by a ``kid`` from the platform's JWKS are accepted; the algorithm is fixed here, never
taken from the token, which rules out ``alg: none`` and algorithm confusion. An unknown ``kid`` makes the key
provider refetch the JWKS once (rate-limited). Client-sent identity headers are never read.
"""

from .challenge import bearer_challenge
from .jwks import KeyProvider, LocalKeys, RemoteJWKS
from .verifier import ANONYMOUS, Access, Method, Principal, Verifier

__all__ = [
    "ANONYMOUS",
    "Access",
    "KeyProvider",
    "LocalKeys",
    "Method",
    "Principal",
    "RemoteJWKS",
    "Verifier",
    "bearer_challenge",
]
