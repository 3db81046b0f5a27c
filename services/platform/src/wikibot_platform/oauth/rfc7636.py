"""RFC 7636 PKCE, as OAuth 2.1 requires it: a code challenge on every authorization request, S256 only.

authlib's ``CodeChallenge`` verifies the verifier at the token endpoint (§4.6); this subclass makes the
challenge mandatory for every client and refuses ``plain`` — also when it is implied by a missing method.
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge

S256 = "S256"


class S256CodeChallenge(CodeChallenge):  # type: ignore[misc]
    DEFAULT_CODE_CHALLENGE_METHOD = S256
    SUPPORTED_CODE_CHALLENGE_METHOD = [S256]

    def __init__(self) -> None:
        super().__init__(required=True)

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            # OAuth 2.1 §4.1.1: code_challenge REQUIRED (for every client, public or confidential).
            raise InvalidRequestError("code_challenge is required (PKCE with S256)")
        method = data.get("code_challenge_method")
        if method != S256:
            # RFC 7636 §4.3: a missing method means "plain", which this server does not support.
            raise InvalidRequestError("code_challenge_method must be S256; plain is not supported")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        if not grant.request.form.get("code_verifier"):
            # RFC 7636 §4.5: every code here was issued with a challenge, so the verifier is required.
            raise InvalidRequestError("code_verifier is required")
        super().validate_code_verifier(grant, result)
